import Contribution

try await ContributionService.main()
