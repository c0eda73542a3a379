import Subsidy

try await SubsidyService.main()
