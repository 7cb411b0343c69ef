from sggit.cli import main

main()
