import Hummingbird
import PostgresNIO

public extension ServiceRuntime {
    /// Object-level authorisation (OWASP API1): a citizen may act only on an account they hold;
    /// another person's account answers `notFound` (404), so account numbers cannot be probed.
    /// Staff and channels passed the route's own check; the account is noted for the audit trail.
    func authorize(_ context: HPFRequestContext, account: String, notFound: @autoclosure () -> Problem? = nil) async throws {
        guard case .citizen = context.caller else {
            context.audit.noteAccount(account, checked: false)
            return
        }
        try authorize(context, account: account, ownerRef: try await accountOwner(account), notFound: notFound())
    }

    /// The same when the handler has already read the account's holder (`ownerRef`).
    func authorize(_ context: HPFRequestContext, account: String, ownerRef: String?, notFound: @autoclosure () -> Problem? = nil) throws {
        guard case .citizen(let ref, _) = context.caller else {
            context.audit.noteAccount(account, checked: false)
            return
        }
        guard let ownerRef, ownerRef == ref else {
            // The audit record of the refusal names the account that was tried.
            context.audit.noteAccount(account, checked: false)
            throw notFound() ?? Problem.unknownAccount(account)
        }
        context.audit.noteAccount(account, checked: true)
    }

    /// The same inside a transaction, on its connection (a second connection from the pool while
    /// holding one could exhaust the pool under load).
    func authorize(
        _ context: HPFRequestContext, account: String, in db: DatabaseContext,
        notFound: @autoclosure () -> Problem? = nil
    ) async throws {
        guard case .citizen = context.caller else {
            context.audit.noteAccount(account, checked: false)
            return
        }
        var owner: String?
        let rows = try await db.query(
            "SELECT person_ref FROM \(unescaped: descriptor.accountOwners) WHERE account_number = \(account)")
        for try await ref in rows.decode(String.self) { owner = ref }
        try authorize(context, account: account, ownerRef: owner, notFound: notFound())
    }

    /// The keyed person reference of the account's holder, from this service's own read model.
    func accountOwner(_ account: String) async throws -> String? {
        let rows = try await database.query(
            "SELECT person_ref FROM \(unescaped: descriptor.accountOwners) WHERE account_number = \(account)")
        for try await ref in rows.decode(String.self) { return ref }
        return nil
    }
}
