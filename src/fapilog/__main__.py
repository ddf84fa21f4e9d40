from fapilog._cli import main

raise SystemExit(main())
