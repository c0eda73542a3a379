import RegionalSync

await RegionalSyncService.main()
