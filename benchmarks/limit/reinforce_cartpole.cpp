// REINFORCE on CartPole-v1 in plain C++17, one thread, no Python: the ceiling
// that pgfast's fused training loop is compared against (benchmarks/limit/README.md).
//
// The same algorithm as benchmarks/reference_numpy.py and pgfast's
// pg.Reinforce(..., episodes_per_update=16, returns="reward_to_go",
// baseline="mean", optimizer="adam"):
//   - CartPole-v1 with Gymnasium 1.x dynamics in double precision (Euler
//     integrator, 500-step time limit, reward 1 per step, termination when
//     |x| > 2.4 or |theta| > 12 degrees); reset state uniform in [-0.05, 0.05]^4;
//   - linear softmax policy over phi(s), s the float32 observation Gymnasium
//     returns, widened to double; theta (F, 2) = 0. --features selects phi:
//       identity  phi(s) = [s_0, s_1, s_2, s_3, 1]                     F = 5
//       fourier3  phi(s)_k = cos(pi c.x), c in {0..3}^4 with k = sum_j c_j 4^j
//                 (first dimension fastest), x = clip((s - low) / (high - low),
//                 0, 1), low = [-2.4, -3, -0.21, -3.5] = -high      F = 256
//     (pg.features.Identity(4) and pg.features.Fourier(3, low, high) with the
//     box of benchmarks/reference_numpy.py);
//   - 16 complete episodes per update; Psi_t = sum_{k>=t} gamma^(k-t) r_k,
//     gamma = 0.99; baseline b = mean of Psi over all steps of the batch;
//   - g = (1/16) sum_i sum_t outer(phi(s_t), e_{a_t} - pi(.|s_t)) (Psi_t - b);
//   - Adam ascent: lr 0.05, beta1 0.9, beta2 0.999, eps 1e-8.
// Randomness: one xoshiro256++ stream seeded through splitmix64; the 16
// episodes of an update are played one after the other.
//
// Usage: reinforce_cartpole [--features identity|fourier3] [--seed N]
//                           [--iterations N] [--target R] [--stop-at-target]
//                           [--repeats N] [--json]
// Prints env steps/s of training, and the wall time, iterations and env steps
// until the batch mean return first reaches the target (475 by default).

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr int kObsDim = 4;
constexpr int kActions = 2;
constexpr int kEpisodesPerUpdate = 16;
constexpr int kMaxEpisodeSteps = 500;
constexpr double kGamma = 0.99;
constexpr double kLr = 0.05;
constexpr double kBeta1 = 0.9;
constexpr double kBeta2 = 0.999;
constexpr double kEps = 1e-8;
constexpr double kPi = 3.14159265358979323846;  // Python's math.pi

// ---------------------------------------------------------------- random numbers
inline uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

struct Xoshiro256pp {
    uint64_t s[4];
    explicit Xoshiro256pp(uint64_t seed) {
        for (auto& w : s) w = splitmix64(seed);
    }
    uint64_t next() {
        const uint64_t result = rotl(s[0] + s[3], 23) + s[0];
        const uint64_t t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = rotl(s[3], 45);
        return result;
    }
    // Uniform on [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
};

// ---------------------------------------------------------------- CartPole-v1
// Copied from gymnasium/envs/classic_control/cartpole.py (Gymnasium 1.x),
// same constants and the same order of operations.
struct CartPole {
    static constexpr double gravity = 9.8;
    static constexpr double masscart = 1.0;
    static constexpr double masspole = 0.1;
    static constexpr double total_mass = masspole + masscart;
    static constexpr double length = 0.5;  // half the pole's length
    static constexpr double polemass_length = masspole * length;
    static constexpr double force_mag = 10.0;
    static constexpr double tau = 0.02;
    static constexpr double theta_threshold_radians = 12 * 2 * kPi / 360;
    static constexpr double x_threshold = 2.4;

    double x = 0, x_dot = 0, theta = 0, theta_dot = 0;
    int steps = 0;

    void reset(Xoshiro256pp& rng) {
        double* s[4] = {&x, &x_dot, &theta, &theta_dot};
        for (double* v : s) *v = -0.05 + 0.1 * rng.uniform();
        steps = 0;
    }

    // Returns the reward; sets done when the episode terminated or was truncated.
    double step(int action, bool& done) {
        const double force = action == 1 ? force_mag : -force_mag;
        const double costheta = std::cos(theta);
        const double sintheta = std::sin(theta);
        const double temp =
            (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
        const double thetaacc =
            (gravity * sintheta - costheta * temp) /
            (length * (4.0 / 3.0 - masspole * (costheta * costheta) / total_mass));
        const double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
        x = x + tau * x_dot;
        x_dot = x_dot + tau * xacc;
        theta = theta + tau * theta_dot;
        theta_dot = theta_dot + tau * thetaacc;
        const bool terminated = x < -x_threshold || x > x_threshold ||
                                theta < -theta_threshold_radians ||
                                theta > theta_threshold_radians;
        ++steps;
        done = terminated || steps >= kMaxEpisodeSteps;
        return 1.0;
    }

    // The float32 observation Gymnasium returns, widened to double.
    void observe(double* obs) const {
        obs[0] = static_cast<double>(static_cast<float>(x));
        obs[1] = static_cast<double>(static_cast<float>(x_dot));
        obs[2] = static_cast<double>(static_cast<float>(theta));
        obs[3] = static_cast<double>(static_cast<float>(theta_dot));
    }
};

// ---------------------------------------------------------------- features
// A feature map is a type with the feature count kSize as a compile-time
// constant, so that the trainer's loops over features have fixed bounds.

// phi(s) = [s_0, s_1, s_2, s_3, 1].
struct IdentityFeatures {
    static constexpr int kSize = kObsDim + 1;
    static void compute(const double* obs, double* phi) {
        for (int j = 0; j < kObsDim; ++j) phi[j] = obs[j];
        phi[kObsDim] = 1.0;
    }
};

// phi(s)_k = cos(pi c.x) for c in {0..Order}^4, k = sum_j c_j (Order + 1)^j, on
// x = clip((s - low) / (high - low), 0, 1) with CartPole's box (the bounds of
// benchmarks/reference_numpy.py's CARTPOLE_LOW / CARTPOLE_HIGH), computed as
// (s - low) * (1 / (high - low)) like pgfast and the NumPy reference.
// cos(pi c.x) = Re prod_j e^{i pi c_j x_j}: one cos and one sin of pi x_j per
// dimension, e^{i pi c x_j} for c = 1..Order by angle addition, and the
// features as the real parts of a product tree built one dimension per level
// (level L holds the (Order + 1)^L products over dimensions 0..L-1; block c of
// level L + 1 is level L times e^{i pi c x_L}), so no libm call per feature.
// The same operations in the same order as pgfast's Fourier map.
template <int Order>
struct FourierFeatures {
    static constexpr int kBlocks = Order + 1;
    static constexpr int kSize = kBlocks * kBlocks * kBlocks * kBlocks;
    static constexpr double kLow[kObsDim] = {-2.4, -3.0, -0.21, -3.5};
    static constexpr double kHigh[kObsDim] = {2.4, 3.0, 0.21, 3.5};

    // Level M -> level M * kBlocks, on dimension j; the last level keeps only
    // the real parts (in re_out, the features).
    template <int M, bool kLast>
    static void level(const double* re, const double* im, const double* obs, int j,
                      double* re_out, double* im_out) {
        double u = (obs[j] - kLow[j]) * (1.0 / (kHigh[j] - kLow[j]));
        u = u < 0.0 ? 0.0 : (u > 1.0 ? 1.0 : u);
        const double cos1 = std::cos(kPi * u), sin1 = std::sin(kPi * u);
        for (int i = 0; i < M; ++i) re_out[i] = re[i];  // c = 0: e^0 = 1
        if constexpr (!kLast)
            for (int i = 0; i < M; ++i) im_out[i] = im[i];
        double cos_c = 1.0, sin_c = 0.0;
        for (int c = 1; c < kBlocks; ++c) {
            const double t = cos_c * cos1 - sin_c * sin1;
            sin_c = cos_c * sin1 + sin_c * cos1;
            cos_c = t;
            double* r = re_out + c * M;
            for (int i = 0; i < M; ++i) r[i] = re[i] * cos_c - im[i] * sin_c;
            if constexpr (!kLast) {
                double* s = im_out + c * M;
                for (int i = 0; i < M; ++i) s[i] = re[i] * sin_c + im[i] * cos_c;
            }
        }
    }

    static void compute(const double* obs, double* phi) {
        constexpr int m1 = kBlocks, m2 = m1 * kBlocks, m3 = m2 * kBlocks;
        const double one = 1.0, zero = 0.0;
        double re1[m1], im1[m1], re2[m2], im2[m2], re3[m3], im3[m3];
        level<1, false>(&one, &zero, obs, 0, re1, im1);
        level<m1, false>(re1, im1, obs, 1, re2, im2);
        level<m2, false>(re2, im2, obs, 2, re3, im3);
        level<m3, true>(re3, im3, obs, 3, phi, nullptr);
    }
};

// Wide feature maps (Fourier) get blocked loops below; narrow ones (Identity)
// keep the plain loops that sum in order.
template <int F>
constexpr bool kWide = F >= 64 && F % 8 == 0;

// logits[a] = sum_k phi[k] theta[k, a]. A wide map sums in 8 interleaved
// partial sums (k mod 8), which the compiler vectorises and pipelines.
template <int F>
inline void logits_of(const double* phi, const double* theta, double* logits) {
    if constexpr (!kWide<F>) {
        for (int a = 0; a < kActions; ++a) {
            double l = 0;
            for (int k = 0; k < F; ++k) l += phi[k] * theta[k * kActions + a];
            logits[a] = l;
        }
    } else {
        double acc[8][kActions] = {};
        for (int k = 0; k < F; k += 8)
            for (int j = 0; j < 8; ++j)
                for (int a = 0; a < kActions; ++a)
                    acc[j][a] += phi[k + j] * theta[(k + j) * kActions + a];
        for (int a = 0; a < kActions; ++a)
            logits[a] = ((acc[0][a] + acc[1][a]) + (acc[2][a] + acc[3][a])) +
                        ((acc[4][a] + acc[5][a]) + (acc[6][a] + acc[7][a]));
    }
}

// g = sum_t outer(phi_t, (e_{a_t} - pi_t) (Psi_t - b)) over the n steps of the
// batch, rows phi_t of F features and dlogp_t = e_{a_t} - pi_t of kActions.
// A wide map takes 4 steps per pass over g (a quarter of the loads and stores
// of g, and 4 products summed before each add).
template <int F>
inline void gradient(int n, const double* phi, const double* dlogp, const double* psi,
                     double b, double* g) {
    int t = 0;
    if constexpr (kWide<F>) {
        constexpr int kRows = 4;
        for (; t + kRows <= n; t += kRows) {
            double w[kRows][kActions];
            for (int r = 0; r < kRows; ++r)
                for (int a = 0; a < kActions; ++a)
                    w[r][a] = dlogp[(t + r) * kActions + a] * (psi[t + r] - b);
            const double* f0 = &phi[t * F];
            const double* f1 = f0 + F;
            const double* f2 = f1 + F;
            const double* f3 = f2 + F;
            for (int k = 0; k < F; ++k)
                for (int a = 0; a < kActions; ++a)
                    g[k * kActions + a] += (f0[k] * w[0][a] + f1[k] * w[1][a]) +
                                           (f2[k] * w[2][a] + f3[k] * w[3][a]);
        }
    }
    for (; t < n; ++t) {
        const double adv = psi[t] - b;
        const double* f = &phi[t * F];
        const double* d = &dlogp[t * kActions];
        for (int k = 0; k < F; ++k) {
            const double fa = f[k] * adv;
            for (int a = 0; a < kActions; ++a) g[k * kActions + a] += fa * d[a];
        }
    }
}

// ---------------------------------------------------------------- training
struct Result {
    long long env_steps = 0;
    double seconds = 0;
    int iterations = 0;
    int solved_iteration = -1;  // 1-based
    double solved_seconds = 0;
    long long solved_env_steps = 0;
    double last_mean_return = 0;
    std::vector<double> theta;  // (features, actions), row-major
};

template <class Features>
struct Trainer {
    static constexpr int kFeatures = Features::kSize;
    // Per-step batch storage, sized once for 16 episodes of at most 500 steps.
    static constexpr int kCapacity = kEpisodesPerUpdate * kMaxEpisodeSteps;
    std::vector<double> phi = std::vector<double>(kCapacity * kFeatures);
    std::vector<double> dlogp = std::vector<double>(kCapacity * kActions);  // e_a - pi
    std::vector<double> reward = std::vector<double>(kCapacity);
    std::vector<double> psi = std::vector<double>(kCapacity);

    double theta[kFeatures * kActions] = {};  // row-major (feature, action)
    double adam_m[kFeatures * kActions] = {};
    double adam_v[kFeatures * kActions] = {};
    double beta1_pow = 1.0, beta2_pow = 1.0;

    Result run(uint64_t seed, int iterations, double target, bool stop_at_target) {
        Xoshiro256pp rng(seed);
        CartPole env;
        Result res;
        using clock = std::chrono::steady_clock;
        const auto start = clock::now();
        for (int it = 0; it < iterations; ++it) {
            // ---- rollout: 16 complete episodes ----
            int n = 0;  // steps in the batch
            for (int ep = 0; ep < kEpisodesPerUpdate; ++ep) {
                env.reset(rng);
                const int ep_start = n;
                bool done = false;
                while (!done) {
                    double* f = &phi[n * kFeatures];
                    double obs[kObsDim];
                    env.observe(obs);
                    Features::compute(obs, f);
                    double logits[kActions];
                    logits_of<kFeatures>(f, theta, logits);
                    double lmax = -INFINITY;
                    for (int a = 0; a < kActions; ++a) lmax = std::max(lmax, logits[a]);
                    double p[kActions];
                    double z = 0;
                    for (int a = 0; a < kActions; ++a) {
                        p[a] = std::exp(logits[a] - lmax);
                        z += p[a];
                    }
                    const double inv_z = 1.0 / z;
                    for (int a = 0; a < kActions; ++a) p[a] *= inv_z;
                    // inverse CDF: the first action whose cumulative probability exceeds u
                    const double u = rng.uniform();
                    int action = kActions - 1;
                    double cum = 0;
                    for (int a = 0; a < kActions - 1; ++a) {
                        cum += p[a];
                        if (u < cum) {
                            action = a;
                            break;
                        }
                    }
                    double* d = &dlogp[n * kActions];
                    for (int a = 0; a < kActions; ++a) d[a] = (a == action ? 1.0 : 0.0) - p[a];
                    reward[n] = env.step(action, done);
                    ++n;
                }
                // reward-to-go for this episode
                double running = 0;
                for (int t = n - 1; t >= ep_start; --t) {
                    running = reward[t] + kGamma * running;
                    psi[t] = running;
                }
            }

            // ---- gradient with the batch-mean baseline ----
            double sum_psi = 0, sum_reward = 0;
            for (int t = 0; t < n; ++t) {
                sum_psi += psi[t];
                sum_reward += reward[t];
            }
            const double b = sum_psi / n;
            double g[kFeatures * kActions] = {};
            gradient<kFeatures>(n, phi.data(), dlogp.data(), psi.data(), b, g);

            // ---- Adam, gradient ascent ----
            beta1_pow *= kBeta1;
            beta2_pow *= kBeta2;
            for (int j = 0; j < kFeatures * kActions; ++j) {
                const double gj = g[j] / kEpisodesPerUpdate;
                adam_m[j] = kBeta1 * adam_m[j] + (1.0 - kBeta1) * gj;
                adam_v[j] = kBeta2 * adam_v[j] + (1.0 - kBeta2) * gj * gj;
                const double mhat = adam_m[j] / (1.0 - beta1_pow);
                const double vhat = adam_v[j] / (1.0 - beta2_pow);
                theta[j] += kLr * mhat / (std::sqrt(vhat) + kEps);
            }

            res.env_steps += n;
            res.iterations = it + 1;
            res.last_mean_return = sum_reward / kEpisodesPerUpdate;
            if (res.solved_iteration < 0 && res.last_mean_return >= target) {
                res.solved_iteration = it + 1;
                res.solved_seconds = std::chrono::duration<double>(clock::now() - start).count();
                res.solved_env_steps = res.env_steps;
                if (stop_at_target) break;
            }
        }
        res.seconds = std::chrono::duration<double>(clock::now() - start).count();
        res.theta.assign(theta, theta + kFeatures * kActions);
        return res;
    }
};

// Trains `repeats` times from scratch with the same seed; the fastest run.
template <class Features>
Result best_of(int repeats, uint64_t seed, int iterations, double target, bool stop_at_target) {
    Result best;
    for (int r = 0; r < repeats; ++r) {
        Trainer<Features> trainer;  // fresh theta and Adam state: every repeat is the same run
        Result res = trainer.run(seed, iterations, target, stop_at_target);
        if (r == 0 || res.seconds < best.seconds) best = res;
    }
    return best;
}

[[noreturn]] void usage(const char* prog) {
    std::fprintf(stderr,
                 "usage: %s [--features identity|fourier3] [--seed N] [--iterations N]\n"
                 "          [--target R] [--stop-at-target] [--repeats N] [--json]\n"
                 "  --features F       identity ([s, 1], 5 features; the default) or fourier3\n"
                 "                     (Fourier order 3 on CartPole's box, 256 features)\n"
                 "  --seed N           RNG seed (default 0)\n"
                 "  --iterations N     updates of 16 episodes each (default 300)\n"
                 "  --target R         batch mean return counted as solved (default 475)\n"
                 "  --stop-at-target   stop at the first update that reaches the target\n"
                 "  --repeats N        train N times from scratch with the same seed; the\n"
                 "                     fastest run is reported (default 1)\n"
                 "  --json             print one JSON object instead of text\n",
                 prog);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t seed = 0;
    int iterations = 300;
    double target = 475.0;
    bool stop_at_target = false;
    int repeats = 1;
    bool json = false;
    std::string features = "identity";
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage(argv[0]);
            return argv[++i];
        };
        if (!std::strcmp(a, "--seed")) seed = std::strtoull(value(), nullptr, 10);
        else if (!std::strcmp(a, "--iterations")) iterations = std::atoi(value());
        else if (!std::strcmp(a, "--target")) target = std::atof(value());
        else if (!std::strcmp(a, "--stop-at-target")) stop_at_target = true;
        else if (!std::strcmp(a, "--repeats")) repeats = std::atoi(value());
        else if (!std::strcmp(a, "--json")) json = true;
        else if (!std::strcmp(a, "--features")) features = value();
        else usage(argv[0]);
    }
    if (iterations < 1 || repeats < 1) usage(argv[0]);

    Result best;
    if (features == "identity")
        best = best_of<IdentityFeatures>(repeats, seed, iterations, target, stop_at_target);
    else if (features == "fourier3")
        best = best_of<FourierFeatures<3>>(repeats, seed, iterations, target, stop_at_target);
    else
        usage(argv[0]);

    const double rate = best.env_steps / best.seconds;
    if (json) {
        std::printf(
            "{\"features\": \"%s\", \"seed\": %llu, \"iterations\": %d, \"env_steps\": %lld, \"seconds\": %.9g, "
            "\"steps_per_second\": %.6g, \"ns_per_step\": %.4g, \"last_mean_return\": %.6g, "
            "\"target\": %g, ",
            features.c_str(), static_cast<unsigned long long>(seed), best.iterations,
            best.env_steps, best.seconds, rate, 1e9 / rate, best.last_mean_return, target);
        if (best.solved_iteration > 0)
            std::printf("\"solved_iteration\": %d, \"solved_seconds\": %.9g, "
                        "\"solved_env_steps\": %lld, ",
                        best.solved_iteration, best.solved_seconds, best.solved_env_steps);
        else
            std::printf("\"solved_iteration\": null, \"solved_seconds\": null, "
                        "\"solved_env_steps\": null, ");
        std::printf("\"repeats\": %d}\n", repeats);
        return 0;
    }
    std::printf("%s features, seed %llu: %d iterations, %lld env steps in %.2f ms: "
                "%.2f M env steps/s (%.1f ns/step), last batch mean return %.1f\n",
                features.c_str(), static_cast<unsigned long long>(seed), best.iterations, best.env_steps,
                best.seconds * 1e3, rate / 1e6, 1e9 / rate, best.last_mean_return);
    if (best.solved_iteration > 0)
        std::printf("reached %g at iteration %d: %.2f ms, %lld env steps\n", target,
                    best.solved_iteration, best.solved_seconds * 1e3, best.solved_env_steps);
    else
        std::printf("did not reach %g in %d iterations\n", target, best.iterations);
    return 0;
}
