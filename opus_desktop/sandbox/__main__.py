"""`python -m opus_desktop.sandbox --dir D`: run the sandbox in the foreground."""

import sys

from opus_desktop.sandbox.command import main

sys.exit(main())
