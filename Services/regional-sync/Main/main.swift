import RegionalSync

try await RegionalSyncService.main()
