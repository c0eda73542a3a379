/// Descriptions that never carry a secret. Swift prints a struct by reflecting every stored
/// property, and libraries log the values they are given (ServiceLifecycle logs each service at
/// debug level): a job holding the runtime printed the database password and the person-key
/// secret. These types describe themselves by name only.
extension ServiceConfig: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "ServiceConfig(\(serviceName), settings redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["service": serviceName], displayStyle: .struct) }
}

extension ServiceRuntime: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "ServiceRuntime(\(descriptor.name))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["service": descriptor.name], displayStyle: .struct) }
}

extension DailyJob: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "DailyJob(\(name))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["name": name], displayStyle: .struct) }
}
