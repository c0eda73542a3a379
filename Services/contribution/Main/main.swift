import Contribution

await ContributionService.main()
