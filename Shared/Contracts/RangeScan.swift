/// `RangeCheck`'s quick path: one pass over the bytes of a document, without building it. It
/// reads what the suite's own documents are made of (objects, arrays, plain integers, strings
/// without escapes, `true`, `false`, `null`) and gives up (nil) on anything else: a fraction or
/// exponent, an integer beyond Int64, an escape or a control character in a string, a name
/// repeated in one object (the decoder keeps one of the values), deep nesting, or any syntax
/// error. `RangeCheck` then decodes the document as before, so both ways
/// find the same violations. Decoding every event and request body into a tree first cost a
/// twentieth of a consumer's CPU.
enum RangeScan {
    /// Deeper documents are left to the decoder.
    static let maximumDepth = 64

    private enum Step {
        case member(String)
        case item(Int)
    }

    private struct Container {
        let isObject: Bool
        /// The key an integer in this array is ranged by (an array's items share its key).
        let key: String
        var items = 0
        /// An object's member names so far (Swift's string equality: canonically equal names
        /// are one name to the decoder too).
        var names: Set<String> = []

        /// False when `name` was seen before in this object.
        mutating func add(_ name: String) -> Bool { names.insert(name).inserted }
    }

    static func violations(in bytes: UnsafeRawBufferPointer, overrides: [String: ClosedRange<Int64>]) -> [RangeViolation]? {
        var scanner = Scanner(bytes: bytes)
        var containers: [Container] = []
        var steps: [Step] = []
        var found: [RangeViolation] = []
        var key = ""

        func path() -> String {
            var text = ""
            for step in steps {
                switch step {
                case .member(let name): text += text.isEmpty ? name : ".\(name)"
                case .item(let index): text += "[\(index)]"
                }
            }
            return text
        }

        // One value at the cursor; then what follows it, until the document ends.
        while true {
            guard let first = scanner.skipSpace() else { return nil }
            switch first {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard containers.count < maximumDepth else { return nil }
                scanner.advance()
                let isObject = first == UInt8(ascii: "{")
                containers.append(Container(isObject: isObject, key: key))
                guard let next = scanner.skipSpace() else { return nil }
                if next == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    scanner.advance()
                    containers.removeLast()
                } else if isObject {
                    guard let name = scanner.memberName(), containers[containers.count - 1].add(name) else { return nil }
                    key = name
                    steps.append(.member(name))
                    continue
                } else {
                    steps.append(.item(0))
                    continue
                }
            case UInt8(ascii: "\""):
                guard let text = scanner.plainString() else { return nil }
                if let year = RangeCheck.leadingYear(text), !InputRange.year.contains(year) {
                    found.append(.init(field: path(), message: "the year must be between \(InputRange.year.lowerBound) and \(InputRange.year.upperBound)"))
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                guard let number = scanner.plainInteger() else { return nil }
                let range = overrides[key] ?? InputRange.forField(named: key)
                if !range.contains(number) { found.append(.init(field: path(), message: "must be between \(range.lowerBound) and \(range.upperBound)")) }
            case UInt8(ascii: "t"):
                guard scanner.literal("true") else { return nil }
            case UInt8(ascii: "f"):
                guard scanner.literal("false") else { return nil }
            case UInt8(ascii: "n"):
                guard scanner.literal("null") else { return nil }
            default:
                return nil
            }
            // After a value: the next member or item, or the end of containers, or of the document.
            while true {
                guard let container = containers.last else { return scanner.skipSpace() == nil ? found : nil }
                guard let next = scanner.skipSpace() else { return nil }
                scanner.advance()
                if next == UInt8(ascii: ",") {
                    steps.removeLast()
                    if container.isObject {
                        guard scanner.skipSpace() == UInt8(ascii: "\""), let name = scanner.memberName(),
                            containers[containers.count - 1].add(name)
                        else { return nil }
                        key = name
                        steps.append(.member(name))
                    } else {
                        containers[containers.count - 1].items += 1
                        key = container.key
                        steps.append(.item(containers[containers.count - 1].items))
                    }
                    break
                }
                guard next == (container.isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) else { return nil }
                containers.removeLast()
                steps.removeLast()
            }
        }
    }

    private struct Scanner {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        mutating func advance() { index += 1 }

        /// The next byte after white space, not consumed; nil at the end.
        mutating func skipSpace() -> UInt8? {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return bytes[index]
                }
            }
            return nil
        }

        /// A string at the cursor with no escape and no control character; nil otherwise.
        mutating func plainString() -> String? {
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { return nil }
            let start = index + 1
            var end = start
            while end < bytes.count {
                let byte = bytes[end]
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\") || byte < 0x20 { return nil }
                end += 1
            }
            guard end < bytes.count else { return nil }
            index = end + 1
            // Invalid UTF-8 is not JSON: the decoder says so.
            return String(validating: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }

        /// A member's name and the colon after it.
        mutating func memberName() -> String? {
            guard let name = plainString(), skipSpace() == UInt8(ascii: ":") else { return nil }
            index += 1
            return name
        }

        /// `-?(0|[1-9][0-9]*)` within Int64, followed by no fraction or exponent; nil otherwise.
        mutating func plainInteger() -> Int64? {
            var cursor = index
            let negative = bytes[cursor] == UInt8(ascii: "-")
            if negative { cursor += 1 }
            let digitsStart = cursor
            var value: Int64 = 0
            while cursor < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[cursor]) {
                let digit = Int64(bytes[cursor] - UInt8(ascii: "0"))
                // Accumulated negatively, so Int64.min fits too.
                let (times, o1) = value.multipliedReportingOverflow(by: 10)
                let (next, o2) = times.subtractingReportingOverflow(digit)
                guard !o1, !o2 else { return nil }
                value = next
                cursor += 1
            }
            let count = cursor - digitsStart
            guard count > 0, count == 1 || bytes[digitsStart] != UInt8(ascii: "0") else { return nil }
            if cursor < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[cursor]) { return nil }
            index = cursor
            if negative { return value }
            guard value != Int64.min else { return nil }
            return -value
        }

        mutating func literal(_ word: String) -> Bool {
            var cursor = index
            for byte in word.utf8 {
                guard cursor < bytes.count, bytes[cursor] == byte else { return false }
                cursor += 1
            }
            index = cursor
            return true
        }
    }
}
