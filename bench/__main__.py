"""`python -m bench`: the gateway benchmark (bench/gateway.py); the emulator's is bench.emulator."""

from bench.gateway import main

raise SystemExit(main())
