import Subsidy

await SubsidyService.main()
