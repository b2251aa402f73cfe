from __future__ import annotations

from pgfast.cli import main

raise SystemExit(main())
