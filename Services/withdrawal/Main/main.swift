import Withdrawal

await WithdrawalService.main()
