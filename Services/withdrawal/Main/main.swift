import Withdrawal

try await WithdrawalService.main()
