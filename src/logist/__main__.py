from logist.cli import main

main()
