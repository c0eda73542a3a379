import Enrolment

try await EnrolmentService.main()
