import sys

from autosam.cli.main import main

sys.exit(main())
