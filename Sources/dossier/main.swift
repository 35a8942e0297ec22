import DossierCLI

// The command lives in DossierCLI, so that dossierd can carry it too (one binary in the image).
await DossierCLI.main()
