import Loan

await LoanService.main()
