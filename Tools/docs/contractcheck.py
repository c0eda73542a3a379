"""The event contract: the AsyncAPI payload schemas must say what the Swift types encode.

Run by `make test` (Tools/devstack/docs.sh, with the other document checks). The Swift types in
Shared/Contracts are the one source of truth for event payloads (issue #14, section 1); this check
fails when docs/asyncapi.yaml or docs/asyncapi-partner.yaml drift from them.

1. Swift. It reads the structs, enums and typealiases of Shared/Contracts/*.swift and
   Shared/Policy/*.swift (comments and string contents masked, braces matched, so nested types,
   computed properties and method bodies are told apart) and works out the JSON each Codable struct
   encodes as synthesized Codable does: every stored property (`let`/`var` with a type; computed
   properties, `static` members and methods are not encoded), named by `enum CodingKeys` when the
   struct has one; an optional is left out when nil (`encodeIfPresent`), so it must not be
   required; `[T]` is an array; a `String`/`Int`-backed enum is its raw values; `Fen` and other
   typealiases are followed. A type with its own `encode(to:)` (directly or from a protocol
   extension) is supported in one shape only: a single string value (`TextCodable`:
   `BusinessDate`, `YearMonth`), whose `textFormat` says `YYYY-MM-DD` (schema: `format: date`) or
   `YYYY-MM` (schema: a `pattern` that takes 2026-05 and refuses 2026-05-01). Anything else it cannot
   read in a payload type (a property without a written type, a tuple, a dictionary, a property
   wrapper, a `lazy` property, an enum with associated values, another custom encoder, an encoder
   key/date strategy set in Shared/Contracts) is reported as a failure, never skipped.

2. Which struct is each event's payload: derived from the code, never listed here.
   - Every function whose parameters include an `EventType` and a generic payload (`P` or
     `P.Type`) is found by its declaration (`EventHandler.on(_:_:_:)`, `emit`, the partner feed's
     `send`, the golden tests' `event`); at each call with a literal event type (`.debitPosted`,
     `EventType.debitPosted`) the payload argument is resolved: `T.self`, `T(...)`,
     `....decode(T.self, ...)`, a local `let`/`var`/parameter of type `T` (through plain aliases
     like `var summary = payout`), or a method whose declaration returns `T` (`record.outStep(...)`).
   - `CloudEvent(..., type: EventType.x.rawValue, ..., data: <payload>)`, resolved the same way.
   - A call whose event type is a variable (`emit(eventType, event, ...)`) maps every literal
     assigned to a variable of that name (`static let eventType = EventType.depositDiscrepancy`).
   Every event type must get exactly one struct from this evidence (call sites in Services,
   Shared, Tools and Tests/ContractsTests). The `hpf....v1` names in the structs' doc comments are
   compared too, as notes only (a misplaced comment is worth mending, not failing the build).

3. AsyncAPI. Each message in components.messages is the event type its `name` says; every
   EventType needs a message and every message an EventType. The message payload's `data` schema
   ($ref, allOf and anyOf/oneOf followed; $ref siblings ignored as Draft 7 does, `x-hpf-*` marks
   excepted) is compared with the struct, recursively: the same property names (a schema property
   the Swift type lacks needs `x-hpf-not-in-swift: true`), `required` = the non-optional
   properties, JSON types (String: string, Int/Int64/Fen: integer, Double: number, Bool: boolean,
   arrays with their items, structs: object), enums equal to the raw values. A schema may leave out
   raw values that its event never carries only by naming them in `x-hpf-not-sent: [...]`, so a
   new Swift case still fails until someone decides.

Prints the mapping's provenance, a summary (types, properties) and every drift; exits 1 on drift.
Usage: contractcheck.py [--root DIR] [--verbose]
"""
import argparse
import glob
import os
import re
import sys
import time

import yaml

DEFAULT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TYPE_FOLDERS = ["Shared/Contracts", "Shared/Policy"]
# Where payload types are taken from call sites: the suite's code, its tools, and the golden tests
# (not the other tests: one may publish a deliberately wrong payload to test the dead-letter path).
CALL_SITE_FOLDERS = ["Services", "Shared", "Tools", "Tests/ContractsTests"]

STRING, INTEGER, NUMBER, BOOLEAN = "string", "integer", "number", "boolean"
BUILTINS = {
    "String": STRING, "Character": STRING, "UUID": STRING, "URL": STRING, "Data": STRING,
    "Int": INTEGER, "Int8": INTEGER, "Int16": INTEGER, "Int32": INTEGER, "Int64": INTEGER,
    "UInt": INTEGER, "UInt8": INTEGER, "UInt16": INTEGER, "UInt32": INTEGER, "UInt64": INTEGER,
    "Double": NUMBER, "Float": NUMBER, "Decimal": NUMBER,
    "Bool": BOOLEAN,
}


# --------------------------------------------------------------------------------------------
# Swift source: comments and string contents masked (same length, newlines kept), so braces,
# parentheses and keywords can be matched; literals are read back from the original text.

class Source:
    def __init__(self, path, rel):
        with open(path, encoding="utf-8") as handle:
            self.text = handle.read()
        self.rel = rel
        self.masked = mask(self.text)
        self._lines = None

    def line(self, offset):
        if self._lines is None:
            self._lines = [m.start() for m in re.finditer("\n", self.text)]
        lo, hi = 0, len(self._lines)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._lines[mid] < offset:
                lo = mid + 1
            else:
                hi = mid
        return lo + 1

    def where(self, offset):
        return f"{self.rel}:{self.line(offset)}"


_CODE_STOP = re.compile(r'//|/\*|#*"|[()]')


def mask(text):
    out = list(text)
    n = len(text)

    def blank(a, b):
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    def code(i, in_interpolation):
        depth = 0
        while True:
            m = _CODE_STOP.search(text, i)
            if not m:
                return n
            j, token = m.start(), m.group()
            if token == "//":
                end = text.find("\n", j)
                end = n if end < 0 else end
                blank(j, end)
                i = end
            elif token == "/*":
                k, level = j + 2, 1
                while k < n and level:
                    if text.startswith("/*", k):
                        level, k = level + 1, k + 2
                    elif text.startswith("*/", k):
                        level, k = level - 1, k + 2
                    else:
                        k += 1
                blank(j, k)
                i = k
            elif token.endswith('"'):
                i = string(j, len(token) - 1)
            elif token == "(":
                depth += 1
                i = j + 1
            else:  # ")"
                if in_interpolation and depth == 0:
                    return j
                depth -= 1
                i = j + 1

    def string(i, hashes):
        j = i + hashes
        multi = text.startswith('"""', j)
        quote = '"""' if multi else '"'
        j += len(quote)
        start = j
        terminator = quote + "#" * hashes
        interpolation = "\\" + "#" * hashes + "("
        while j < n:
            if text.startswith(interpolation, j):
                close = code(j + len(interpolation), True)
                blank(start, close + 1)
                j = start = close + 1
                continue
            if hashes == 0 and text[j] == "\\":
                j += 2
                continue
            if text.startswith(terminator, j):
                blank(start, j)
                return j + len(terminator)
            if not multi and text[j] == "\n":
                break
            j += 1
        blank(start, j)
        return j

    code(0, False)
    return "".join(out)


def matching(masked, open_index):
    """Index of the bracket closing the one at open_index."""
    pairs = {"{": "}", "(": ")", "[": "]"}
    opener, closer = masked[open_index], pairs[masked[open_index]]
    depth = 0
    for k in range(open_index, len(masked)):
        c = masked[k]
        if c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return k
    return len(masked) - 1


def top_level_blocks(masked, start, end):
    """The outermost {...} blocks in masked[start:end], as (open, close) pairs."""
    blocks, k = [], start
    while True:
        k = masked.find("{", k, end)
        if k < 0:
            return blocks
        close = matching(masked, k)
        blocks.append((k, close))
        k = close + 1


def split_top(text, separator=","):
    """Splits at separators outside (), [], {} and <> (generic arguments)."""
    parts, depth, current = [], 0, []
    for c in text:
        if c in "([{<":
            depth += 1
        elif c in ")]}>":
            depth -= 1
        if c == separator and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return [p.strip() for p in parts]


# --------------------------------------------------------------------------------------------
# Swift declarations.

class TypeDecl:
    def __init__(self, kind, name, qualified, inherits, source, offset, body):
        self.kind, self.name, self.qualified = kind, name, qualified
        self.inherits = inherits
        self.source, self.offset, self.body = source, offset, body
        self.properties = []  # (name, type text, offset)
        self.cases = []  # (name, raw literal or None, has associated values)
        self.custom_encode = False
        self.encode_body = ""
        self.statics = {}  # static let name = "literal"
        self.problems = []

    @property
    def where(self):
        return self.source.where(self.offset)


DECL = re.compile(r"(?<![.\w])(struct|enum|class|actor|protocol|extension)\s+([A-Za-z_][\w.]*)")
MODIFIERS = r"(?:(?:public|internal|private|fileprivate|package|open)(?:\(set\))?\s+|static\s+|class\s+|lazy\s+|weak\s+|final\s+|override\s+|nonisolated(?:\(unsafe\))?\s+|unowned(?:\(\w+\))?\s+)*"
PROPERTY = re.compile(r"^\s*(?P<attributes>(?:@\w+(?:\([^)]*\))?\s+)*)(?P<mods>" + MODIFIERS + r")(?P<kw>let|var)\s+(?P<rest>.*)$", re.S)
BENIGN_ATTRIBUTES = {"available", "inlinable", "usableFromInline", "preconcurrency", "MainActor", "objc", "nonobjc"}
CASE = re.compile(r"^\s*(?:indirect\s+)?case\s+(?P<rest>.*)$", re.S)


class SwiftModel:
    def __init__(self, sources):
        self.types = {}  # qualified name -> TypeDecl (what extensions add is merged in)
        self.extensions = {}  # name -> [TypeDecl]
        self.protocols = {}
        self.typealiases = {}  # qualified name -> type text
        for source in sources:
            self._scan(source, 0, len(source.masked), "")
        for name, extensions in self.extensions.items():
            target = self.types.get(name) or self.protocols.get(name)
            for extension in extensions:
                if target is not None and extension.custom_encode:
                    target.custom_encode, target.encode_body = True, extension.encode_body
                if target is not None:
                    target.inherits += extension.inherits

    def _scan(self, source, start, end, scope):
        masked = source.masked
        blocks = top_level_blocks(masked, start, end)
        inside = lambda k: any(a < k < b for a, b in blocks)
        for m in DECL.finditer(masked, start, end):
            if inside(m.start()):
                continue
            kind, name = m.group(1), m.group(2)
            brace = masked.find("{", m.end(), end)
            if brace < 0:
                continue
            header = masked[m.end():brace]
            line_head = masked[masked.rfind("\n", 0, m.start()) + 1:m.start()]
            if ("\n\n" in header or ";" in header or re.search(r"\bimport\b", line_head)
                    or (kind == "class" and name in ("func", "var", "let", "subscript", "init"))):
                continue  # not a type declaration (`import struct X`, `class func`)
            close = matching(masked, brace)
            inherits = []
            head = re.sub(r"\bwhere\b.*", "", header, flags=re.S)
            head = re.sub(r"^\s*<[^>]*>", "", head)
            if ":" in head:
                inherits = [p.strip() for part in split_top(head.split(":", 1)[1]) for p in part.split("&") if p.strip()]
            qualified = f"{scope}.{name}" if scope and kind != "extension" else name
            decl = TypeDecl(kind, name, qualified, inherits, source, m.start(), (brace + 1, close))
            self._members(decl)
            if kind == "extension":
                self.extensions.setdefault(name, []).append(decl)
                self._scan(source, brace + 1, close, name)
            elif kind == "protocol":
                self.protocols[qualified] = decl
            else:
                self.types[qualified] = decl
                self._scan(source, brace + 1, close, qualified)
        for m in re.finditer(r"(?<![.\w])typealias\s+(\w+)\s*(?:<[^>]*>)?\s*=\s*([^\n;{]+)", masked[start:end]):
            if inside(start + m.start()):
                continue
            self.typealiases[f"{scope}.{m.group(1)}" if scope else m.group(1)] = m.group(2).strip()

    def _members(self, decl):
        source, masked = decl.source, decl.source.masked
        start, end = decl.body
        flat = list(masked[start:end])
        previous_end = start
        for a, b in top_level_blocks(masked, start, end):
            inner = masked[a + 1:b]
            observer = re.search(r"\b(didSet|willSet)\b", inner) is not None
            if re.search(r"\bfunc\s+encode\s*\(\s*to\b[^{}]*$", masked[previous_end:a]):
                decl.custom_encode, decl.encode_body = True, inner
            previous_end = b + 1
            for k in range(a + 1 - start, b - start):
                flat[k] = " "
            if observer:
                flat[a + 1 - start] = "O"
        flat = "".join(flat)
        # Statements: lines or `;`, a line continued while a bracket is open or it ends in `,`/`:`/`=`.
        statements, pending, pending_start = [], "", None
        for m in re.finditer(r"[^\n;]+", flat):
            text = m.group()
            if not text.strip():
                continue
            if pending_start is None:
                pending_start = start + m.start()
            pending += (" " if pending else "") + text
            opened = sum(pending.count(c) for c in "([") - sum(pending.count(c) for c in ")]")
            if opened > 0 or re.search(r"[,:=&]\s*$|->\s*$", pending):
                continue
            statements.append((pending, pending_start))
            pending, pending_start = "", None
        if pending:
            statements.append((pending, pending_start))
        for text, offset in statements:
            if decl.kind == "extension":
                continue
            if re.search(r"(?<![.\w])(struct|enum|class|actor|protocol|func|init|subscript|typealias|deinit)\b", text) and not CASE.match(text):
                if not PROPERTY.match(text):
                    continue
            case = CASE.match(text)
            if case and decl.kind == "enum":
                for item in split_top(case.group("rest")):
                    im = re.match(r"^`?(\w+)`?\s*(\()?", item)
                    if not im:
                        decl.problems.append(f"{source.where(offset)}: cannot read the case `{item}` of {decl.qualified}")
                        continue
                    raw = self._literal(source, offset, im.group(1)) if "=" in item else None
                    decl.cases.append((im.group(1), raw, im.group(2) is not None))
                continue
            prop = PROPERTY.match(text)
            if not prop:
                continue
            mods = prop.group("mods")
            if re.search(r"\b(static|class)\b", mods):
                sm = re.match(r"^\s*(\w+)\s*(?::\s*String\s*)?=\s*\"", prop.group("rest"))
                if sm:
                    decl.statics[sm.group(1)] = self._string_after(source, offset, sm.group(1))
                continue
            if decl.kind not in ("struct", "class"):
                continue
            wrappers = set(re.findall(r"@(\w+)", prop.group("attributes"))) - BENIGN_ATTRIBUTES
            if wrappers:
                decl.problems.append(f"{source.where(offset)}: a property of {decl.qualified} has @{', @'.join(sorted(wrappers))} "
                                     "(a property wrapper changes its encoding): not supported")
                continue
            for binding in split_top(prop.group("rest")):
                bm = re.match(r"^`?(\w+)`?\s*(?::\s*(?P<type>[^={]+?))?\s*(?:=\s*(?P<default>[^{]*?))?\s*(?P<block>\{O?\s*\})?\s*$", binding, re.S)
                if not bm:
                    decl.problems.append(f"{source.where(offset)}: cannot read the property `{binding.strip()}` of {decl.qualified}")
                    continue
                block = bm.group("block")
                if block and "O" not in block:
                    continue  # computed
                if "lazy" in mods:
                    decl.problems.append(f"{source.where(offset)}: lazy property `{bm.group(1)}` of {decl.qualified}: not supported")
                    continue
                if not bm.group("type"):
                    decl.problems.append(f"{source.where(offset)}: property `{bm.group(1)}` of {decl.qualified} has no written type")
                    continue
                decl.properties.append((bm.group(1), bm.group("type").strip(), offset))

    @staticmethod
    def _literal(source, offset, case_name):
        """The string or integer literal after `case_name =` in the original text, from offset."""
        m = re.compile(r"(?<![\w`])`?" + re.escape(case_name) + r"`?\s*=\s*").search(source.masked, offset)
        if not m:
            return None
        k = m.end()
        if source.text[k] == '"':
            close = source.masked.find('"', k + 1)
            return source.text[k + 1:close].encode().decode("unicode_escape") if "\\" in source.text[k + 1:close] else source.text[k + 1:close]
        im = re.match(r"-?\d+", source.text[k:])
        return int(im.group()) if im else None

    @staticmethod
    def _string_after(source, offset, name):
        m = re.compile(r"\b" + re.escape(name) + r"\s*(?::\s*String\s*)?=\s*\"").search(source.masked, offset)
        if not m:
            return None
        close = source.masked.find('"', m.end())
        return source.text[m.end():close]

    # ---- names

    def lookup(self, name, scope):
        """The declaration or builtin a type name means inside `scope` (a qualified name)."""
        name = name.strip()
        parts = scope.split(".") if scope else []
        for depth in range(len(parts), -1, -1):
            candidate = ".".join(parts[:depth] + [name])
            if candidate in self.types:
                return self.types[candidate]
            if candidate in self.typealiases:
                return ("alias", self.typealiases[candidate], ".".join(parts[:depth]))
        if name in BUILTINS:
            return ("builtin", BUILTINS[name])
        return None

    def conforms_to_encoder(self, decl, seen=None):
        """The protocol whose extension gives the type its encode(to:), or None."""
        seen = seen or set()
        for name in decl.inherits:
            name = name.strip()
            if name in seen:
                continue
            seen.add(name)
            protocol = self.protocols.get(name)
            if protocol is None:
                continue
            if protocol.custom_encode:
                return protocol
            found = self.conforms_to_encoder(protocol, seen)
            if found:
                return found
        return None


# --------------------------------------------------------------------------------------------
# Swift type expressions -> a small tree, and the JSON each encodes to.

def parse_type(text):
    text = text.strip()
    if text.endswith("?") or text.endswith("!"):
        return ("optional", parse_type(text[:-1]))
    m = re.match(r"^Optional\s*<(.*)>$", text)
    if m:
        return ("optional", parse_type(m.group(1)))
    if text.startswith("[") and text.endswith("]") and matching(text, 0) == len(text) - 1:
        inner = text[1:-1]
        parts = split_top(inner, ":")
        if len(parts) == 2:
            return ("dictionary", parse_type(parts[0]), parse_type(parts[1]))
        return ("array", parse_type(inner))
    m = re.match(r"^(Array|Set|ContiguousArray)\s*<(.*)>$", text)
    if m:
        return ("array", parse_type(m.group(2)))
    m = re.match(r"^Dictionary\s*<(.*)>$", text)
    if m:
        key, value = split_top(m.group(1))
        return ("dictionary", parse_type(key), parse_type(value))
    if re.match(r"^[A-Za-z_][\w.]*$", text):
        return ("named", text)
    return ("unsupported", text)


class Shape:
    """What a Swift type encodes to: kind is string/integer/number/boolean/array/object/enum."""

    def __init__(self, kind, **fields):
        self.kind = kind
        self.__dict__.update(fields)


class Encodings:
    def __init__(self, model):
        self.model = model
        self.cache = {}

    def of(self, tree, scope, where):
        """A Shape for a parsed type inside `scope`, or raises ValueError with the reason."""
        kind = tree[0]
        if kind == "optional":
            inner = self.of(tree[1], scope, where)
            return Shape("optional", inner=inner)
        if kind == "array":
            return Shape("array", items=self.of(tree[1], scope, where))
        if kind == "dictionary":
            raise ValueError(f"{where}: a dictionary property is not supported by this check")
        if kind == "unsupported":
            raise ValueError(f"{where}: cannot read the type `{tree[1]}`")
        found = self.model.lookup(tree[1], scope)
        if found is None:
            raise ValueError(f"{where}: unknown type `{tree[1]}` (not a builtin, nor declared in {', '.join(TYPE_FOLDERS)})")
        if isinstance(found, tuple) and found[0] == "builtin":
            return Shape(found[1], swift=tree[1])
        if isinstance(found, tuple) and found[0] == "alias":
            return self.of(parse_type(found[1]), found[2], where)
        return self.declared(found)

    def declared(self, decl):
        if decl.qualified in self.cache:
            return self.cache[decl.qualified]
        shape = self._declared(decl)
        self.cache[decl.qualified] = shape
        return shape

    def _declared(self, decl):
        if decl.problems:
            raise ValueError("; ".join(decl.problems))
        encoder = decl if decl.custom_encode else self.model.conforms_to_encoder(decl)
        if encoder is not None:
            body = re.sub(r"\s+", "", encoder.encode_body)
            if "singleValueContainer()" in body and re.search(r"\.encode\((description|rawValue|String\()", body):
                text = decl.statics.get("textFormat") or ""
                fmt = "date" if "YYYY-MM-DD" in text else "month" if "YYYY-MM" in text else None
                return Shape(STRING, swift=decl.qualified, format=fmt)
            raise ValueError(f"{decl.where}: {decl.qualified} has its own encode(to:), which this check cannot read")
        if decl.kind == "enum":
            raw = [i for i in decl.inherits if i in BUILTINS]
            if not raw or any(assoc for _, _, assoc in decl.cases):
                raise ValueError(f"{decl.where}: enum {decl.qualified} is not String- or Int-backed (or has associated values)")
            json_kind = BUILTINS[raw[0]]
            values = []
            for index, (name, literal, _) in enumerate(decl.cases):
                if literal is None:
                    if json_kind == STRING:
                        literal = name
                    else:
                        literal = (values[-1] + 1) if values else 0
                values.append(literal)
            return Shape("enum", base=json_kind, values=values, swift=decl.qualified)
        if decl.kind in ("struct", "class"):
            coding_keys = self.model.types.get(f"{decl.qualified}.CodingKeys")
            renames = None
            if coding_keys is not None:
                renames = {name: (literal if literal is not None else name) for name, literal, _ in coding_keys.cases}
            shape = Shape("object", swift=decl.qualified, properties=[], where=decl.where)
            self.cache[decl.qualified] = shape  # recursion
            for name, type_text, offset in decl.properties:
                if renames is not None and name not in renames:
                    continue  # not coded (CodingKeys leaves it out)
                key = renames[name] if renames is not None else name
                tree = parse_type(type_text)
                optional = tree[0] == "optional"
                inner = self.of(tree[1] if optional else tree, decl.qualified, decl.source.where(offset))
                shape.properties.append((key, optional, inner))
            return shape
        raise ValueError(f"{decl.where}: {decl.kind} {decl.qualified} is not supported")


# --------------------------------------------------------------------------------------------
# Which struct each event type carries, from the code.

def call_arguments(masked, open_paren):
    close = matching(masked, open_paren)
    inner_start = open_paren + 1
    args, depth, start = [], 0, inner_start
    for k in range(inner_start, close + 1):
        c = masked[k]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if k == close:
                args.append((start, k))
                break
            depth -= 1
        elif c == "," and depth == 0:
            args.append((start, k))
            start = k + 1
    result = []
    for a, b in args:
        text = masked[a:b]
        lm = re.match(r"^\s*([A-Za-z_]\w*)\s*:(?!:)", text)
        if lm:
            result.append((lm.group(1), a + lm.end(), b))
        else:
            result.append((None, a, b))
    return result, close


class Mapping:
    def __init__(self, model, event_cases, sources):
        self.model = model
        self.cases = event_cases  # case name -> raw value
        self.sources = sources
        self.evidence = {}  # case -> {struct: [where]}
        self.indirect_uses = {}  # variable name -> {struct: [where]}
        self.indirect_values = {}  # variable name -> {case: [where]}
        self.unresolved = []
        self.functions = {}  # name -> [(event index, payload index, labels)]
        self.returns = {}  # method name -> {type}
        for source in sources:
            self._declarations(source)
        for source in sources:
            self._calls(source)
            for m in re.finditer(r"\b(?:let|var)\s+(\w+)\s*(?::\s*EventType\s*)?=\s*(?:EventType)?\.(\w+)\b(?!\s*[(.])", source.masked):
                if m.group(2) in self.cases:
                    self.indirect_values.setdefault(m.group(1), {}).setdefault(m.group(2), []).append(source.where(m.start()))
        for name, structs in self.indirect_uses.items():
            for case, wheres in self.indirect_values.get(name, {}).items():
                for struct, uses in structs.items():
                    self._add(case, struct, f"{wheres[0]} ({name}) + {uses[0]}")

    def _add(self, case, struct, where):
        self.evidence.setdefault(case, {}).setdefault(struct, []).append(where)

    def _declarations(self, source):
        masked = source.masked
        for m in re.finditer(r"\bfunc\s+(\w+)\s*(<([^>]*)>)?\s*\(", masked):
            name, generics = m.group(1), m.group(3) or ""
            close = matching(masked, m.end() - 1)
            params = split_top(masked[m.end():close])
            after = masked[close + 1:close + 200]
            rm = re.match(r"[^{\n]*?->\s*([A-Z][\w.]*)", after)
            if rm:
                self.returns.setdefault(name, set()).add(rm.group(1))
            generic_names = {g.split(":")[0].strip() for g in split_top(generics)} if generics else set()
            labels, event_index, payload_index = [], None, None
            for index, param in enumerate(params):
                pm = re.match(r"^(\w+)(?:\s+(\w+))?\s*:\s*(.+?)\s*(?:=.*)?$", param, re.S)
                if not pm:
                    labels = None
                    break
                labels.append(pm.group(1))
                type_text = re.sub(r"@\w+\s*", "", pm.group(3)).strip()
                if type_text == "EventType":
                    event_index = index
                elif type_text in generic_names or (type_text.endswith(".Type") and type_text[:-5] in generic_names):
                    payload_index = index
            if labels is not None and event_index is not None and payload_index is not None:
                self.functions.setdefault(name, []).append((event_index, payload_index, labels))

    def _calls(self, source):
        masked = source.masked
        names = "|".join(map(re.escape, self.functions)) or "(?!)"
        for m in re.finditer(r"(?<![\w])(" + names + r"|CloudEvent)\s*\(", masked):
            name = m.group(1)
            if re.search(r"\bfunc\s+$", masked[max(0, m.start() - 20):m.start()]):
                continue
            args, _ = call_arguments(masked, m.end() - 1)
            if name == "CloudEvent":
                labelled = {label: (a, b) for label, a, b in args if label}
                if "type" not in labelled or "data" not in labelled:
                    continue
                tm = re.match(r"^\s*((?:\w+\.)*\w+)\.rawValue\s*$", masked[slice(*labelled["type"])])
                if tm:
                    self._record(source, m.start(), tm.group(1), masked[slice(*labelled["data"])], labelled["data"][0])
                continue
            for event_index, payload_index, labels in self.functions[name]:
                placed = self._place(args, labels)
                if placed is None or event_index not in placed or payload_index not in placed:
                    continue
                event_text = masked[slice(*placed[event_index])].strip()
                payload = placed[payload_index]
                self._record(source, m.start(), event_text, masked[slice(*payload)], payload[0])
                break

    @staticmethod
    def _place(args, labels):
        """Arguments to parameter indexes: unlabelled ones to the next `_` parameter, labelled by label."""
        placed, p = {}, 0
        for label, a, b in args:
            want = label or "_"
            while p < len(labels) and labels[p] != want:
                p += 1
            if p == len(labels):
                return None
            placed[p] = (a, b)
            p += 1
        return placed

    def _record(self, source, at, event_text, payload_text, payload_at):
        """One call: `.x` / `EventType.x` names a case; another name is a variable (indirect)."""
        where = source.where(at)
        event_text = " ".join(event_text.split())
        literal = re.match(r"^(?:EventType)?\.(\w+)$", event_text)
        if literal and literal.group(1) in self.cases:
            case = literal.group(1)
            struct = self.resolve(source, payload_text, payload_at)
            if struct:
                self._add(case, struct, where)
            else:
                self.unresolved.append(f"{where}: {self.cases[case]}: payload `{' '.join(payload_text.split())[:60]}`")
            return
        if literal or not re.match(r"^(?:\w+\.)*[a-z_]\w*$", event_text):
            return  # another enum's case, or an expression
        struct = self.resolve(source, payload_text, payload_at)
        if struct:
            self.indirect_uses.setdefault(event_text.split(".")[-1], {}).setdefault(struct, []).append(where)

    def struct_named(self, name):
        decl = self.model.types.get(name)
        return name if decl is not None and decl.kind == "struct" else None

    def resolve(self, source, expression, at, depth=0):
        """The contract struct an expression at offset `at` has, or None."""
        text = " ".join(expression.split())
        text = re.sub(r"^(?:try[?!]?\s+|await\s+)+", "", text).rstrip("!")
        if depth > 5:
            return None
        m = re.match(r"^([A-Z][\w.]*)\.self$", text)
        if m:
            return self.struct_named(m.group(1))
        m = re.search(r"\.decode\(\s*([A-Z][\w.]*)\.self\b", text)
        if m:
            return self.struct_named(m.group(1))
        m = re.match(r"^([A-Z][\w.]*)\s*\(", text)
        if m:
            found = self.struct_named(m.group(1))
            if found:
                return found
            method = m.group(1).split(".")[-1]
            return self._returned(method)
        m = re.match(r"^[A-Za-z_][\w.]*\.(\w+)\s*\(", text)
        if m:
            return self._returned(m.group(1))
        m = re.match(r"^([a-z_]\w*)$", text)
        if m:
            return self._variable(source, m.group(1), at, depth)
        return None

    def _returned(self, method):
        types = {t for t in self.returns.get(method, set()) if self.struct_named(t)}
        return types.pop() if len(types) == 1 else None

    def _variable(self, source, name, at, depth):
        masked = source.masked
        word = re.escape(name)
        pattern = re.compile(
            r"\b(?:let|var)\s+" + word + r"\s*(?::\s*(?P<annotation>[^=\n{]+?))?\s*=\s*(?P<value>[^\n]+)"
            r"|(?<![\w.])" + word + r"\s*:\s*(?P<parameter>[A-Z]\w*(?:\.[A-Z]\w*)*)(?![\w.(])"
            # Bindings without a written type (closure parameters, loop variables) hide earlier ones.
            r"|(?P<untyped>\{\s*\(?(?:\w+\s*,\s*)*" + word + r"\s*(?:,\s*\w+\s*)*\)?\s*in\b"
            r"|\bfor\s+(?:case\s+)?(?:let\s+|var\s+)?\(?(?:\w+\s*,\s*)*" + word + r"\b[^{\n]*?\bin\b)")
        best = None
        for m in pattern.finditer(masked, max(0, at - 20000), at):
            best = m
        if best is None or best.group("untyped"):
            return None
        if best.group("parameter"):
            return self.struct_named(best.group("parameter"))
        if best.group("annotation"):
            tree = parse_type(best.group("annotation"))
            return self.struct_named(tree[1]) if tree[0] == "named" else None
        return self.resolve(source, best.group("value"), best.start("value"), depth + 1)


def doc_comment_types(model, raw_values):
    """struct -> event types its doc comment names (`hpf....v1` in backticks)."""
    named = {}
    for decl in model.types.values():
        if decl.kind != "struct" or not decl.source.rel.startswith("Shared/Contracts"):
            continue
        text = decl.source.text
        line_start = text.rfind("\n", 0, decl.offset) + 1
        lines = text[:line_start].split("\n")[:-1]
        doc = []
        while lines and (lines[-1].strip().startswith("///") or lines[-1].strip().startswith("@")):
            doc.append(lines.pop())
        for value in re.findall(r"`(hpf\.[\w.-]+\.v1)`", "\n".join(doc)):
            if value in raw_values:
                named.setdefault(decl.qualified, set()).add(value)
    return named


# --------------------------------------------------------------------------------------------
# AsyncAPI schemas.

from uniqueyaml import UniqueKeyLoader  # noqa: E402  (one loader for every document check)


class View:
    """A schema with $ref, allOf (and, for property names only, anyOf/oneOf) folded in."""

    def __init__(self):
        self.types = None
        self.properties = {}
        self.required = set()
        self.conditional = set()
        self.enum = None
        self.items = []
        self.formats = set()
        self.patterns = []
        self.marks = {}
        self.problems = []


def json_type(value):
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return NUMBER
    if isinstance(value, str):
        return STRING
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "null"


class Document:
    def __init__(self, path, rel):
        with open(path, encoding="utf-8") as handle:
            self.tree = yaml.load(handle, Loader=UniqueKeyLoader)
        self.rel = rel

    def pointer(self, ref):
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise KeyError(f"$ref {ref!r} is not internal")
        node = self.tree
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit():
                node = node[int(part)]
            else:
                raise KeyError(f"$ref {ref} points nowhere")
        return node

    def view(self, schemas):
        view = View()
        for schema in schemas:
            self._fold(schema, view, set(), conditional=False)
        return view

    def _fold(self, schema, view, seen, conditional):
        if schema is True or schema is None:
            return
        if not isinstance(schema, dict):
            view.problems.append(f"not a schema: {schema!r}")
            return
        for key, value in schema.items():
            if isinstance(key, str) and key.startswith("x-hpf-"):
                view.marks.setdefault(key, []).append(value)
        if "$ref" in schema:
            ref = schema["$ref"]
            if ref in seen:
                return
            try:
                target = self.pointer(ref)
            except KeyError as problem:
                view.problems.append(str(problem))
                return
            self._fold(target, view, seen | {ref}, conditional)
            return
        if not conditional:
            if "type" in schema:
                types = set(schema["type"] if isinstance(schema["type"], list) else [schema["type"]]) - {"null"}
                view.types = types if view.types is None else view.types & types
            if "const" in schema:
                values = [schema["const"]]
                view.enum = values if view.enum is None else [v for v in view.enum if v in values]
            if "enum" in schema:
                values = list(schema["enum"])
                view.enum = values if view.enum is None else [v for v in view.enum if v in values]
            if "format" in schema:
                view.formats.add(schema["format"])
            if "pattern" in schema:
                view.patterns.append(schema["pattern"])
            for name in schema.get("required", []) or []:
                view.required.add(name)
            if "items" in schema:
                view.items.append(schema["items"])
        else:
            for name in schema.get("required", []) or []:
                view.conditional.add(name)
        for name, sub in (schema.get("properties") or {}).items():
            view.properties.setdefault(name, []).append(sub)
        for sub in schema.get("allOf", []) or []:
            self._fold(sub, view, seen, conditional)
        for keyword in ("anyOf", "oneOf"):
            for sub in schema.get(keyword, []) or []:
                self._fold(sub, view, seen, True)


class Comparison:
    def __init__(self):
        self.problems = []
        self.properties = 0

    def compare(self, document, shape, schemas, path, stack=()):
        view = document.view(schemas)
        for problem in view.problems:
            self.problems.append(f"{path}: {problem}")
        if shape.kind == "optional":
            shape = shape.inner
        kind = shape.kind
        types = view.types
        if types is None and view.enum is not None:
            types = {json_type(v) for v in view.enum}
        swift = getattr(shape, "swift", None) or kind

        def expect(json_kind):
            if types is None:
                self.problems.append(f"{path}: the schema gives no type; Swift {swift} is {json_kind}")
                return False
            if types != {json_kind}:
                self.problems.append(f"{path}: the schema says {'/'.join(sorted(types)) or 'nothing'}; Swift {swift} is {json_kind}")
                return False
            return True

        if kind in (STRING, INTEGER, NUMBER, BOOLEAN):
            if expect(kind) and kind == STRING:
                fmt = getattr(shape, "format", None)
                if fmt == "date" and "date" not in view.formats:
                    self.problems.append(f"{path}: Swift {swift} is a date YYYY-MM-DD; the schema should say format: date")
                if fmt == "month" and not any(re.search(p, "2026-05") and not re.search(p, "2026-05-01") for p in view.patterns):
                    self.problems.append(f"{path}: Swift {swift} is a month YYYY-MM; the schema should have a pattern for it (e.g. ^[0-9]{{4}}-[0-9]{{2}}$)")
            return
        if kind == "enum":
            if not expect(shape.base):
                return
            unused = [v for mark in view.marks.get("x-hpf-not-sent", []) for v in (mark or [])]
            strays = [v for v in unused if v not in shape.values]
            if strays:
                self.problems.append(f"{path}: x-hpf-not-sent names {strays}, which Swift {swift} does not have")
            expected = [v for v in shape.values if v not in unused]
            if view.enum is None:
                self.problems.append(f"{path}: the schema has no enum; Swift {swift} is one of {expected}")
                return
            missing = [v for v in expected if v not in view.enum]
            extra = [v for v in view.enum if v not in shape.values]
            both = [v for v in view.enum if v in unused]
            if missing:
                self.problems.append(f"{path}: enum lacks {missing} of Swift {swift}" + (" (or name them in x-hpf-not-sent)" if not unused else ""))
            if extra:
                self.problems.append(f"{path}: enum has {extra}, which Swift {swift} cannot encode")
            if both:
                self.problems.append(f"{path}: enum has {both}, which x-hpf-not-sent says is never sent")
            return
        if kind == "array":
            if not expect("array"):
                return
            if not view.items:
                self.problems.append(f"{path}: the array schema has no items")
                return
            self.compare(document, shape.items, view.items, f"{path}[]", stack)
            return
        if kind == "object":
            if not expect("object"):
                return
            if shape.swift in stack:
                return
            swift_names = {name for name, _, _ in shape.properties}
            for name, optional, inner in shape.properties:
                self.properties += 1
                if name not in view.properties:
                    self.problems.append(f"{path}.{name}: missing from the schema (Swift {shape.swift}.{name}{'?' if optional else ''})")
                    continue
                if not optional and name not in view.required:
                    self.problems.append(f"{path}.{name}: not required in the schema, but Swift {shape.swift}.{name} is not optional (always encoded)")
                if optional and name in view.required:
                    self.problems.append(f"{path}.{name}: required in the schema, but Swift {shape.swift}.{name} is optional (left out when nil)")
                self.compare(document, inner, view.properties[name], f"{path}.{name}", stack + (shape.swift,))
            for name in view.properties:
                if name in swift_names:
                    continue
                marks = document.view(view.properties[name]).marks.get("x-hpf-not-in-swift", [])
                if not any(marks):
                    self.problems.append(f"{path}.{name!s}: in the schema, but Swift {shape.swift} has no such property"
                                         + (" (a YAML 1.1 boolean key: quote it)" if isinstance(name, bool) else ""))
            for name in view.required:
                if name not in view.properties and name not in swift_names:
                    self.problems.append(f"{path}: required names {name!r}, which is no property")
            return
        self.problems.append(f"{path}: cannot compare Swift {kind}")


# --------------------------------------------------------------------------------------------

def load_sources(root, folders, recursive):
    sources = []
    for folder in folders:
        pattern = os.path.join(root, folder, "**", "*.swift") if recursive else os.path.join(root, folder, "*.swift")
        for path in sorted(glob.glob(pattern, recursive=recursive)):
            sources.append(Source(path, os.path.relpath(path, root)))
    return sources


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=DEFAULT_ROOT)
    parser.add_argument("--verbose", action="store_true", help="print the mapping and its evidence")
    arguments = parser.parse_args()
    root = arguments.root
    started, started_cpu = time.monotonic(), time.process_time()
    problems, notes = [], []

    # Swift: the types, and the event catalogue.
    type_sources = load_sources(root, TYPE_FOLDERS, recursive=False)
    model = SwiftModel(type_sources)
    catalogue = model.types.get("EventType")
    if catalogue is None or catalogue.kind != "enum":
        print("contract: no `enum EventType` in Shared/Contracts")
        return 1
    cases = {}
    for name, literal, _ in catalogue.cases:
        cases[name] = literal if literal is not None else name
    raw_values = set(cases.values())
    # The payloads are encoded with a plain JSONEncoder (CloudEventCoding.encoder()); a key, date or
    # data strategy would change the JSON this check derives.
    for source in type_sources:
        for m in re.finditer(r"\b(keyEncodingStrategy|dateEncodingStrategy|dataEncodingStrategy|nonConformingFloatEncodingStrategy)\b", source.masked):
            if source.rel.startswith("Shared/Contracts"):
                problems.append(f"{source.where(m.start())}: the encoder sets {m.group(1)}, which this check does not model")

    # The payload struct of each event type, from the call sites.
    by_path = {s.rel: s for s in type_sources}
    call_sources = []
    for folder in CALL_SITE_FOLDERS:
        for path in sorted(glob.glob(os.path.join(root, folder, "**", "*.swift"), recursive=True)):
            rel = os.path.relpath(path, root)
            call_sources.append(by_path.get(rel) or Source(path, rel))
    mapping = Mapping(model, cases, call_sources)
    payloads = {}
    for case in cases:
        found = mapping.evidence.get(case, {})
        if not found:
            problems.append(f"{cases[case]}: no payload type found in the code (no handler, emit or CloudEvent names it with a contract struct)")
        elif len(found) > 1:
            listed = "; ".join(f"{struct} at {', '.join(wheres[:2])}" for struct, wheres in sorted(found.items()))
            problems.append(f"{cases[case]}: the code uses several payload types: {listed}")
        else:
            payloads[case] = next(iter(found))
    documented = doc_comment_types(model, raw_values)
    for struct, values in sorted(documented.items()):
        for value in sorted(values):
            case = next(c for c, v in cases.items() if v == value)
            if case in payloads and payloads[case] != struct:
                notes.append(f"the doc comment of {struct} ({model.types[struct].where}) names {value}, whose payload is {payloads[case]}")

    # AsyncAPI: every message named by an event type, and the other way round.
    documents = [Document(p, os.path.relpath(p, root)) for p in sorted(glob.glob(os.path.join(root, "docs", "asyncapi*.yaml")))]
    messages = {}
    for document in documents:
        seen_here = {}
        for key, message in ((document.tree.get("components") or {}).get("messages") or {}).items():
            name = message.get("name") if isinstance(message, dict) else None
            if not isinstance(name, str):
                problems.append(f"{document.rel}: components.messages.{key} has no name (its event type)")
                continue
            if name in seen_here:
                problems.append(f"{document.rel}: messages {seen_here[name]} and {key} are both named {name}")
            seen_here[name] = key
            messages.setdefault(name, []).append((document, key, message))
    for value in sorted(set(messages) - raw_values):
        for document, key, _ in messages[value]:
            problems.append(f"{document.rel}: message {key} is named {value}, which no EventType case is")
    for case, value in cases.items():
        if value not in messages:
            problems.append(f"{value} (EventType.{case}): no AsyncAPI message is named so")

    # Each event's data schema against its struct.
    encodings = Encodings(model)
    comparison = Comparison()
    checked = 0
    for case, value in cases.items():
        if case not in payloads or value not in messages:
            continue
        struct = payloads[case]
        try:
            shape = encodings.declared(model.types[struct])
        except ValueError as problem:
            problems.append(f"{value}: cannot read Swift {struct}: {problem}")
            continue
        for document, key, message in messages[value]:
            label = f"{document.rel} {key} ({value}, Swift {struct})"
            try:
                payload = document.view([message.get("payload")])
            except RecursionError:
                problems.append(f"{label}: the payload's $refs loop")
                continue
            if "data" not in payload.properties:
                problems.append(f"{label}: the payload has no data schema")
                continue
            before = len(comparison.problems)
            comparison.compare(document, shape, payload.properties["data"], "data")
            for problem in comparison.problems[before:]:
                problems.append(f"{label}: {problem}")
            checked += 1

    if arguments.verbose:
        for case, value in cases.items():
            found = mapping.evidence.get(case, {})
            for struct, wheres in sorted(found.items()):
                print(f"contract: {value} -> {struct}  ({len(wheres)} call sites, e.g. {wheres[0]})")
        for line in mapping.unresolved:
            print(f"contract: unresolved payload at {line}")
    sites = sum(len(w) for found in mapping.evidence.values() for w in found.values())
    print(f"contract: payload types of {len(payloads)} of {len(cases)} event types derived from {sites} call sites "
          f"({len(mapping.unresolved)} call sites with a payload it could not type)")
    for note in notes:
        print(f"contract: note: {note}")
    elapsed, cpu = time.monotonic() - started, time.process_time() - started_cpu
    print(f"contract: {checked} message schemas of {len(cases)} event types checked against "
          f"{len(set(payloads.values()))} Swift structs, {comparison.properties} properties compared ({cpu:.2f} s CPU, {elapsed:.2f} s)")
    if problems:
        print(f"contract: {len(problems)} drifts between the Swift types and the AsyncAPI documents:")
        for problem in problems:
            print(f"  {problem}")
        return 1
    print("contract: the AsyncAPI payload schemas match the Swift types")
    return 0


if __name__ == "__main__":
    sys.exit(main())
