import Loan

try await LoanService.main()
