import sys

from convlstm_lib.cli import main

sys.exit(main())
