import Enrolment

await EnrolmentService.main()
