"""`python -m app.cli`, the same as the `video-jobs` console script."""

import sys

from app.cli.main import main

sys.exit(main())
