"""Checks, without a Docker engine, that docker/ still deploys what the repository builds and runs.

Run by `make test` (Tools/devstack/test.sh, through `Tools/devstack/docs.sh --deploy`, which gives it
the documents' private Python environment). The services are listed in several places that must
agree; this check compares them all, so none can drift:

  Package.swift             the `services` array (library, folder, executable) and, through
                            `swift package describe`, every target's folder and executable product
  the services' own code    ServiceDescriptor(name:schema:defaultPort:) in Services/<folder>/Sources
  Tools/devstack/env.sh     HPF_SERVICES, schema_of and port_of, evaluated by bash as the dev stack
                            evaluates them
  Tools/devstack/pg.sh      the SQL the dev stack provisions each schema and role with
  docker/Dockerfile         the Swift image, the COPY lines, the executables copied out, the
                            runtime stage's libraries; .dockerignore
  docker/compose.yaml       no duplicate key, valid against the Compose Specification's JSON Schema
                            (Tools/docs/compose-spec.schema.json); one service per
                            executable (port, role, schema, broker user, health check), depends_on,
                            volumes, Kafka's listeners, Postgres' max_connections
  docker/init.sh, init.sql  one role pair and one schema per service, as pg.sh makes them
  docker/kafka-setup.sh     one broker user per service
  README.md, CONTRACT.md    their port tables (CONTRACT.md: --contract, the repository's, or the brief
                            beside the checkout, ../shared/brief/CONTRACT.md, when there is one)
  docs/openapi/<exe>.yaml   the server URL's port

and, with Swift (skipped by --static-only):

  - copies exactly what the Dockerfile's build stage COPYs (with .dockerignore applied) into an
    empty folder and runs `swift package describe` there: it fails when a target's folder is not
    copied; every copied file must belong to a target (or be the manifest or its pins);
  - resolves the dependencies there (`swift package resolve`, its own scratch folder) and compares
    the Dockerfile's `FROM swift:X.Y` with the swift-tools-version of the root manifest and of every
    resolved dependency (the manifest that compiler would read, version-specific ones included).

Prints one line per area and the failures; exits 1 when anything disagrees.
Usage: deploycheck.py [--root DIR] [--contract FILE] [--static-only] [--keep]
"""
import argparse
import glob
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import jsonschema
import yaml

DEFAULT_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Connections a service opens besides its pool: the outbox relay's own session, the migrator's and
# the start-up check's (Shared/ServiceRuntime: OutboxRelay, Migrations, DatabasePreflight).
SIDE_SESSIONS_PER_SERVICE = 3
# Postgres' superuser_reserved_connections (default 3) and room for psql, hpfctl and backups.
RESERVED_CONNECTIONS = 3
TOOL_CONNECTIONS = 10

# What a library a build stage's -dev package makes the binaries link needs at run time (Debian 12).
DEV_TO_RUNTIME = {
    "libssl-dev": "libssl3",
    "libsasl2-dev": "libsasl2-2",
    "libzstd-dev": "libzstd1",
    "liblz4-dev": "liblz4-1",
    "zlib1g-dev": "zlib1g",
    "libcurl4-openssl-dev": "libcurl4",
}
# Build-only packages of the build stage (nothing of theirs is linked).
BUILD_ONLY = {"pkg-config", "build-essential", "dpkg-dev", "ca-certificates", "git", "curl"}
# The official swift images already install libcurl4-openssl-dev, so a librdkafka configured there
# links libcurl whether or not the Dockerfile names it (unless configured with --disable-curl).
SWIFT_IMAGE_DEV_PACKAGES = {"libcurl4-openssl-dev"}
# Always in a Debian base image.
BASE_PACKAGES = {"libc6", "libgcc-s1"}


from uniqueyaml import UniqueKeyLoader  # noqa: E402  (one loader for every document check)


class Check:
    def __init__(self):
        self.failures = []
        self.lines = []

    def fail(self, area, message):
        self.failures.append(f"{area}: {message}")

    def ok(self, area, message):
        self.lines.append(f"ok   {area}: {message}")


def read(root, path):
    with open(os.path.join(root, path), encoding="utf-8") as handle:
        return handle.read()


def version_tuple(text):
    return tuple(int(part) for part in text.split("."))


def padded(version, length=3):
    return tuple(version) + (0,) * (length - len(version))


def show(version):
    return ".".join(str(part) for part in version)


# --- The services, from every place that lists them ------------------------------------------------

def package_services(root, check):
    """Package.swift's `services` array: [(library, folder, executable)]."""
    text = read(root, "Package.swift")
    match = re.search(r"let services\s*:[^=]*=\s*\[(.*?)\n\]", text, re.S)
    if not match:
        check.fail("Package.swift", "no `let services ... = [ ... ]` array found")
        return []
    rows = re.findall(r'\(\s*"([^"]+)"\s*,\s*"([^"]+)"\s*,\s*"([^"]+)"\s*\)', match.group(1))
    if not rows:
        check.fail("Package.swift", "the services array has no (library, folder, executable) entries")
    return rows


def devstack_services(root, check):
    """What Tools/devstack/env.sh gives each service (bash evaluates it, as the dev stack does)."""
    script = ('. Tools/devstack/env.sh; for s in $HPF_SERVICES; do '
              'echo "$s $(schema_of "$s") $(port_of "$s")"; done')
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp"),
                   "HPF_STACK": "run"}
    result = subprocess.run(["bash", "-c", script], cwd=root, env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        check.fail("Tools/devstack/env.sh", f"could not be evaluated: {result.stderr.strip()}")
        return {}
    services = {}
    for line in result.stdout.split("\n"):
        if line.strip():
            name, schema, port = line.split()
            services[name] = (schema, int(port))
    return services


def descriptor_of(root, folder):
    """The ServiceDescriptor a service's library declares: (name, schema, defaultPort) or None."""
    for path in sorted(glob.glob(os.path.join(root, "Services", folder, "Sources", "**", "*.swift"), recursive=True)):
        with open(path, encoding="utf-8") as handle:
            match = re.search(r'ServiceDescriptor\(\s*name:\s*"([^"]+)"\s*,\s*schema:\s*"([^"]+)"\s*,\s*defaultPort:\s*(\d+)',
                              handle.read())
        if match:
            return match.group(1), match.group(2), int(match.group(3)), os.path.relpath(path, root)
    return None


def service_model(root, check):
    """One record per service, after checking that Package.swift, env.sh and the code agree."""
    declared = package_services(root, check)
    dev = devstack_services(root, check)
    model = []
    for library, folder, executable in declared:
        record = {"library": library, "folder": folder, "executable": executable}
        descriptor = descriptor_of(root, folder)
        if descriptor is None:
            check.fail("services", f"no ServiceDescriptor(name:schema:defaultPort:) under Services/{folder}/Sources")
        else:
            name, schema, port, where = descriptor
            if name != executable:
                check.fail("services", f"{where} names the service {name!r}, Package.swift's executable is {executable!r}")
            record["schema"], record["port"] = schema, port
        if executable not in dev:
            check.fail("Tools/devstack/env.sh", f"HPF_SERVICES lacks {executable} (Package.swift has it)")
        elif descriptor is not None:
            schema, port = dev[executable]
            if schema != record["schema"]:
                check.fail("Tools/devstack/env.sh", f"schema_of {executable} is {schema}, the service's descriptor says {record['schema']}")
            if port != record["port"]:
                check.fail("Tools/devstack/env.sh", f"port_of {executable} is {port}, the service's descriptor says {record['port']}")
        model.append(record)
    for extra in sorted(set(dev) - {record["executable"] for record in model}):
        check.fail("Tools/devstack/env.sh", f"HPF_SERVICES has {extra}, which Package.swift's services array lacks")
    ports = [record.get("port") for record in model]
    if len(set(ports)) != len(ports):
        check.fail("services", f"two services share a port: {ports}")
    schemas = [record.get("schema") for record in model]
    if len(set(schemas)) != len(schemas):
        check.fail("services", f"two services share a schema: {schemas}")
    if not check.failures:
        check.ok("services", ", ".join(f"{r['executable']} :{r['port']} schema {r['schema']}" for r in model)
                 + " (Package.swift = env.sh = ServiceDescriptor)")
    return [record for record in model if "port" in record]


# --- Dockerfile and .dockerignore -------------------------------------------------------------------

def dockerfile_stages(text):
    """[{from, name, instructions: [(INSTRUCTION, arguments)]}], continuation lines joined."""
    stages, logical, pending = [], [], ""
    for raw in text.split("\n"):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and pending):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        line = (pending + stripped).strip()
        pending = ""
        if line:
            logical.append(line)
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            parts = arguments.split()
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append({"from": parts[0], "name": name, "instructions": []})
        elif stages:
            stages[-1]["instructions"].append((instruction, arguments.strip()))
    return stages


def dockerignore_rules(root):
    path = os.path.join(root, ".dockerignore")
    if not os.path.exists(path):
        return None
    rules = []
    for line in read(root, ".dockerignore").split("\n"):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        pattern = os.path.normpath(line[1:] if negated else line).lstrip("/")
        rules.append((negated, pattern_regex(pattern)))
    return rules


def pattern_regex(pattern):
    """A .dockerignore pattern (Go filepath.Match plus **) as a regular expression."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.find("]", i)
            if end == -1:
                out += re.escape(c)
            else:
                out += "[" + pattern[i + 1:end] + "]"
                i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z")


def ignored(rules, relative):
    """True when the build context leaves `relative` out (a pattern matching it or a parent folder)."""
    if not rules:
        return False
    parts = relative.split("/")
    candidates = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    excluded = False
    for negated, regex in rules:
        if any(regex.match(candidate) for candidate in candidates):
            excluded = not negated
    return excluded


def copy_sources(stage, check):
    """The build stage's COPY lines from the context: [(sources, destination, workdir)]."""
    copies, workdir = [], "/"
    for instruction, arguments in stage["instructions"]:
        if instruction == "WORKDIR":
            workdir = os.path.normpath(os.path.join(workdir, arguments))
        elif instruction in ("COPY", "ADD"):
            if arguments.startswith("["):
                tokens = json.loads(arguments)
            else:
                tokens = shlex.split(arguments)
            flags = [token for token in tokens if token.startswith("--")]
            paths = [token for token in tokens if not token.startswith("--")]
            if any(flag.startswith("--from") for flag in flags):
                continue
            if len(paths) < 2:
                check.fail("Dockerfile", f"cannot read `{instruction} {arguments}`")
                continue
            copies.append((paths[:-1], paths[-1], workdir))
    return copies, workdir


def build_context_copy(root, stage, rules, target_root, check):
    """Copies what the build stage COPYs from the context into target_root (its build WORKDIR).
    Returns the copied files, relative to the WORKDIR."""
    copies, build_workdir = copy_sources(stage, check)
    copied = []
    for sources, destination, workdir in copies:
        absolute_destination = os.path.normpath(os.path.join(workdir, destination))
        if os.path.relpath(absolute_destination, build_workdir).startswith(".."):
            check.fail("Dockerfile", f"COPY to {destination} lands outside the build folder {build_workdir}")
            continue
        destination_directory = destination.endswith("/") or len(sources) > 1
        matched_any = False
        for source in sources:
            matches = sorted(glob.glob(source, root_dir=root)) if glob.has_magic(source) else (
                [source] if os.path.exists(os.path.join(root, source)) else [])
            matches = [match for match in matches if not ignored(rules, os.path.normpath(match))]
            if not matches and not glob.has_magic(source):
                check.fail("Dockerfile", f"COPY source {source} is not in the build context"
                           + (" (.dockerignore excludes it)" if os.path.exists(os.path.join(root, source)) else ""))
            matched_any = matched_any or bool(matches)
            for match in matches:
                source_path = os.path.join(root, match)
                if os.path.isdir(source_path):
                    base = absolute_destination
                    for directory, folders, files in os.walk(source_path):
                        folders.sort()
                        for name in sorted(files):
                            full = os.path.join(directory, name)
                            inner = os.path.relpath(full, root)
                            if ignored(rules, os.path.normpath(inner)):
                                continue
                            image_path = os.path.join(base, os.path.relpath(full, source_path))
                            copied.append(place(full, image_path, build_workdir, target_root))
                else:
                    image_path = (os.path.join(absolute_destination, os.path.basename(match))
                                  if destination_directory else absolute_destination)
                    copied.append(place(source_path, image_path, build_workdir, target_root))
        if not matched_any and all(glob.has_magic(source) for source in sources):
            check.fail("Dockerfile", f"COPY {' '.join(sources)}: nothing in the build context matches")
    return copied, build_workdir


def place(source, image_path, build_workdir, target_root):
    relative = os.path.relpath(image_path, build_workdir)
    target = os.path.join(target_root, relative)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(source, target)
    return relative


def check_dockerignore(root, rules, check):
    if rules is None:
        check.fail(".dockerignore", "missing at the repository root: the whole checkout, .build included, would be sent")
        return
    must = [".git", ".build", ".build-release", ".devstack", "build.log", "Services/x/.build"]
    missing = [path for path in must if not ignored(rules, path)]
    if missing:
        check.fail(".dockerignore", f"does not exclude {', '.join(missing)}")
    else:
        check.ok(".dockerignore", "excludes .git, .build, .build-*, .devstack and logs")


def image_of(stage_from):
    match = re.fullmatch(r"(?:docker\.io/)?(?:library/)?([\w.-]+):([\w.-]+)", stage_from)
    return (match.group(1), match.group(2)) if match else (None, None)


def apt_packages(stage):
    packages = set()
    for instruction, arguments in stage["instructions"]:
        if instruction != "RUN":
            continue
        for command in re.split(r"&&|;|\|\|", arguments):
            words = command.split()
            if "apt-get" in words and "install" in words:
                packages.update(word for word in words[words.index("install") + 1:]
                                if not word.startswith("-") and re.fullmatch(r"[a-z0-9][a-z0-9+.-]+", word))
    return packages


def local_librdkafka_packages():
    """Debian packages of the libraries the machine's own librdkafka links (None when unknown)."""
    try:
        libdir = subprocess.run(["pkg-config", "--variable=libdir", "rdkafka"], capture_output=True, text=True,
                                env={**os.environ, "PKG_CONFIG_PATH": "/usr/local/lib/pkgconfig:" + os.environ.get("PKG_CONFIG_PATH", "")}
                                ).stdout.strip()
        library = os.path.join(libdir, "librdkafka.so.1")
        if not libdir or not os.path.exists(library) or not shutil.which("dpkg"):
            return None, None
        listing = subprocess.run(["ldd", library], capture_output=True, text=True).stdout
    except OSError:
        return None, None
    packages = {}
    for name in re.findall(r"^\s*(\S+\.so[.\d]*)\s+=>\s+/", listing, re.M):
        owner = subprocess.run(["dpkg", "-S", f"*/{name}"], capture_output=True, text=True).stdout
        found = re.match(r"([^:,\s]+)", owner)
        if found:
            packages[name] = found.group(1)
    return library, packages


def check_dockerfile(root, model, check):
    """Static checks of docker/Dockerfile. Returns (build stage, image version) for the Swift checks."""
    text = read(root, "docker/Dockerfile")
    stages = dockerfile_stages(text)
    if len(stages) < 2:
        check.fail("Dockerfile", "expected a build stage and a runtime stage")
        return None, None, set()
    build, runtime = stages[0], stages[-1]
    image, tag = image_of(build["from"])
    version, distro = None, None
    match = re.fullmatch(r"(\d+\.\d+(?:\.\d+)?)(?:-(?:slim-)?([a-z]+))?", tag or "")
    if image != "swift" or not match:
        check.fail("Dockerfile", f"the build stage is FROM {build['from']}, expected swift:X.Y[.Z]-<distribution>")
    else:
        version, distro = version_tuple(match.group(1)), match.group(2)
    runtime_image, runtime_tag = image_of(runtime["from"])
    runtime_distro = (runtime_tag or "").replace("-slim", "")
    if runtime_image != "debian" or (distro and runtime_distro != distro):
        check.fail("Dockerfile", f"the runtime stage is FROM {runtime['from']}; it must be Debian {distro} like the "
                   f"build stage ({build['from']}), or the libraries the binaries link differ")

    # The executables copied out of the build.
    executables = set()
    for instruction, arguments in build["instructions"]:
        loop = re.search(r"for\s+(\w+)\s+in\s+([^;]+);\s*do\s+cp\s+\S*\.build/release/\$\{?\1\}?", arguments)
        if instruction == "RUN" and loop:
            executables = set(loop.group(2).split())
    expected = {record["executable"] for record in model} | {"hpfctl"}
    if executables != expected:
        check.fail("Dockerfile", f"copies out {sorted(executables)}; the package's service executables and hpfctl are {sorted(expected)}")

    # The runtime stage's libraries.
    build_packages = apt_packages(build)
    runtime_packages = apt_packages(runtime)
    linked_dev = {p for p in build_packages if (p.endswith("-dev") or p in DEV_TO_RUNTIME) and p not in BUILD_ONLY}
    configure = " ".join(arguments for instruction, arguments in build["instructions"] if instruction == "RUN")
    if image == "swift" and "--disable-curl" not in configure:
        linked_dev |= SWIFT_IMAGE_DEV_PACKAGES
    for dev in sorted(linked_dev):
        if dev not in DEV_TO_RUNTIME:
            check.fail("Dockerfile", f"the build stage installs {dev}: add its run-time package to DEV_TO_RUNTIME in "
                       "Tools/docs/deploycheck.py (and to the runtime stage), or mark it build-only")
        elif DEV_TO_RUNTIME[dev] not in runtime_packages:
            check.fail("Dockerfile", f"the runtime stage lacks {DEV_TO_RUNTIME[dev]}, which librdkafka links "
                       f"(built with {dev}{' from the swift image' if dev in SWIFT_IMAGE_DEV_PACKAGES and dev not in build_packages else ''})")
    library, linked = local_librdkafka_packages()
    if linked:
        for name, package in sorted(linked.items()):
            if package not in runtime_packages and package not in BASE_PACKAGES:
                check.fail("Dockerfile", f"this machine's {library} links {name} ({package}), which the runtime stage does not install")
    if not any(instruction == "RUN" and re.search(r"\bldd\b.*not found", arguments) for instruction, arguments in runtime["instructions"]):
        check.fail("Dockerfile", "the runtime stage has no `ldd ... | grep 'not found'` guard, so a missing library "
                   "shows only when a container starts")
    if not [f for f in check.failures if f.startswith("Dockerfile")]:
        check.ok("Dockerfile", f"FROM {build['from']} / {runtime['from']}; copies out {', '.join(sorted(executables))}; "
                 f"runtime libraries for {', '.join(sorted(DEV_TO_RUNTIME[d] for d in linked_dev if d in DEV_TO_RUNTIME))}"
                 + (f" (and this machine's librdkafka: {', '.join(sorted(set(linked.values()) - BASE_PACKAGES))})" if linked else ""))
    return build, version, runtime_packages


# --- Swift: describe what the Dockerfile copies, and the tools versions ----------------------------

def tools_version_of(path):
    with open(path, encoding="utf-8") as handle:
        first = handle.readline()
    match = re.match(r"//\s*swift-tools-version\s*:\s*(\d+(?:\.\d+){0,2})", first)
    return version_tuple(match.group(1)) if match else None


def manifest_for(package_directory, compiler):
    """The manifest a compiler of version `compiler` reads: the Package@swift-V.swift with the
    highest V <= compiler, else Package.swift."""
    best, best_version = os.path.join(package_directory, "Package.swift"), None
    for path in glob.glob(os.path.join(package_directory, "Package@swift-*.swift")):
        match = re.search(r"Package@swift-(\d+(?:\.\d+){0,2})\.swift$", path)
        if not match:
            continue
        version = version_tuple(match.group(1))
        if padded(version) <= padded(compiler) and (best_version is None or padded(version) > padded(best_version)):
            best, best_version = path, version
    return best


def swift(arguments, cwd, log, temporary):
    started = time.monotonic()
    # SwiftPM leaves lock files named after the scratch path in TMPDIR: keep them in our folder.
    os.makedirs(temporary, exist_ok=True)
    result = subprocess.run(["swift", "package", *arguments], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, "TMPDIR": temporary})
    log.append(f"swift package {arguments[-1] if arguments[-1] == 'resolve' else 'describe'}: {time.monotonic() - started:.1f} s")
    return result


def check_description(description, copied, model, check):
    """What `swift package describe` says of the copied package: its executables and target folders,
    and that every copied file belongs to a target."""
    targets = {target["name"]: target["path"] for target in description["targets"]}
    products = {product["name"] for product in description["products"] if "executable" in product["type"]}
    service_executables = {record["executable"] for record in model}
    if products - {"hpfctl"} != service_executables:
        check.fail("Package.swift", f"executable products {sorted(products)} differ from the services array's {sorted(service_executables)} + hpfctl")
    for record in model:
        for kind in ("Sources", "Main"):
            path = f"Services/{record['folder']}/{kind}"
            if path not in targets.values():
                check.fail("Package.swift", f"no target at {path}")
    # Exactly what the targets need: every copied file belongs to a target.
    needed = {"Package.swift", "Package.resolved"}
    strays = [path for path in copied if path not in needed
              and not any(path == folder or path.startswith(folder.rstrip("/") + "/") for folder in targets.values())]
    if strays:
        shown = ", ".join(strays[:5]) + (f" and {len(strays) - 5} more" if len(strays) > 5 else "")
        check.fail("Dockerfile", f"copies files no target of Package.swift uses: {shown}")
    else:
        check.ok("Dockerfile COPY", f"`swift package describe` passes on the {len(copied)} files the Dockerfile copies "
                 f"({len(targets)} targets, executables {', '.join(sorted(products))}); nothing else is copied")


def check_swift(root, build, image_version, model, check, keep):
    rules = dockerignore_rules(root)
    work = tempfile.mkdtemp(prefix="hpf-deploycheck-")
    timings = []
    try:
        context = os.path.join(work, "src")
        scratch = os.path.join(work, "scratch")
        os.makedirs(context)
        copied, _ = build_context_copy(root, build, rules, context, check)
        if "Package.swift" not in copied:
            check.fail("Dockerfile", "does not COPY Package.swift into its build folder")
            return timings
        temporary = os.path.join(work, "tmp")
        result = swift(["--scratch-path", scratch, "describe", "--type", "json"], context, timings, temporary)
        if result.returncode != 0:
            check.fail("Dockerfile", "`swift package describe` fails on exactly what the Dockerfile copies: "
                       + (result.stderr.strip() or result.stdout.strip()).replace("\n", " | "))
        else:
            check_description(json.loads(result.stdout), copied, model, check)

        # The tools versions: the root manifest's and every resolved dependency's.
        result = swift(["--scratch-path", scratch, "resolve"], context, timings, temporary)
        if result.returncode != 0:
            check.fail("Swift", "`swift package resolve` fails on what the Dockerfile copies: "
                       + (result.stderr.strip() or result.stdout.strip()).replace("\n", " | "))
            return timings
        if image_version is None:
            return timings
        needs = []
        root_version = tools_version_of(os.path.join(context, manifest_for(context, image_version)))
        needs.append(("hpf-flex (Package.swift)", root_version))
        checkouts = os.path.join(scratch, "checkouts")
        for name in sorted(os.listdir(checkouts)) if os.path.isdir(checkouts) else []:
            manifest = manifest_for(os.path.join(checkouts, name), image_version)
            version = tools_version_of(manifest)
            if version is None:
                check.fail("Swift", f"{name}: no swift-tools-version line in {os.path.basename(manifest)}")
                continue
            needs.append((f"{name} ({os.path.basename(manifest)})", version))
        if len(needs) == 1:
            check.fail("Swift", "no dependency checkouts after `swift package resolve`")
        too_new = [(name, version) for name, version in needs if padded(version) > padded(image_version)]
        if too_new:
            check.fail("Dockerfile", f"FROM swift:{show(image_version)} is older than the swift-tools-version of "
                       + ", ".join(f"{name} {show(version)}" for name, version in too_new))
        else:
            highest = max(padded(version) for _, version in needs)
            at_highest = [name.split(" ")[0] for name, version in needs if padded(version) == highest]
            check.ok("Swift version", f"image swift:{show(image_version)} >= every swift-tools-version: root "
                     f"{show(root_version)}, {len(needs) - 1} resolved dependencies up to {show(highest).removesuffix('.0')} "
                     f"({', '.join(at_highest)})")
        return timings
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


# --- compose.yaml -----------------------------------------------------------------------------------

def environment_of(service):
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) if "=" in item else (item, None) for item in environment)
    return {key: (str(value) if value is not None else None) for key, value in environment.items()}


def port_mappings(service):
    """[(host_ip, host_port, container_port)] of a compose service's `ports`."""
    mappings = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            mappings.append((entry.get("host_ip"), str(entry.get("published")), str(entry.get("target"))))
            continue
        parts = str(entry).split("/")[0].rsplit(":", 2)
        if len(parts) == 3:
            mappings.append((parts[0], parts[1], parts[2]))
        elif len(parts) == 2:
            mappings.append((None, parts[0], parts[1]))
        else:
            mappings.append((None, None, parts[0]))
    return mappings


def volume_entries(service):
    """[(source, target)] of a compose service's `volumes`."""
    entries = []
    for entry in service.get("volumes") or []:
        if isinstance(entry, dict):
            entries.append((entry.get("source"), entry.get("target")))
        else:
            parts = str(entry).split(":")
            entries.append((parts[0], parts[1]) if len(parts) > 1 else (None, parts[0]))
    return entries


def properties(text):
    values = {}
    for line in text.split("\n"):
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def listeners(value):
    out = {}
    for item in filter(None, (part.strip() for part in (value or "").split(","))):
        name, _, address = item.partition("://")
        host, _, port = address.rpartition(":")
        out[name] = (host, port)
    return out


def default_pool(root):
    match = re.search(r'"HPF_PG_MAX_CONNECTIONS"\s*,\s*default:\s*(\d+)', read(root, "Shared/ServiceRuntime/ServiceConfig.swift"))
    return int(match.group(1)) if match else None


def deepest(error):
    """The error deepest in the document among an error and its alternatives' (anyOf/oneOf) errors."""
    best = error
    for sub in error.context or []:
        candidate = deepest(sub)
        if len(candidate.absolute_path) > len(best.absolute_path):
            best = candidate
    return best


def check_compose(root, model, runtime_packages, check):
    area = "compose.yaml"
    try:
        compose = yaml.load(read(root, "docker/compose.yaml"), Loader=UniqueKeyLoader)
    except yaml.YAMLError as error:
        check.fail(area, f"does not parse: {error}")
        return None
    # The Compose Specification's own JSON Schema (Tools/docs/compose-spec.schema.json: schema/
    # compose-spec.json of compose-spec/compose-spec at 170098ba07d9, Apache-2.0): unknown keys,
    # misspelt options, wrong types.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "compose-spec.schema.json"), encoding="utf-8") as handle:
        validator = jsonschema.Draft7Validator(json.load(handle))
    for error in sorted(validator.iter_errors(compose), key=lambda error: list(map(str, error.path)))[:10]:
        # Of an anyOf/oneOf, the alternative that got furthest into the document says what is wrong.
        error = deepest(error)
        check.fail(area, f"not valid Compose at {'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message[:200]}")
    services = compose.get("services") or {}
    declared_volumes = set((compose.get("volumes") or {}).keys())
    compose_dir = os.path.join(root, "docker")

    # Structure: depends_on, volumes, health checks. A one-shot step says `restart: "no"`; every
    # other service runs for good and has a health check.
    one_shots = {name for name, service in services.items() if str(service.get("restart")) in ("no", "False")}
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        for target, condition in (depends.items() if isinstance(depends, dict) else ((d, None) for d in depends)):
            if target not in services:
                check.fail(area, f"{name} depends on {target}, which is not a service")
                continue
            condition = (condition or {}).get("condition", "service_started")
            if condition == "service_completed_successfully" and target not in one_shots:
                check.fail(area, f"{name} waits for {target} to complete, but {target} is not a one-shot step (restart: \"no\")")
            elif condition == "service_healthy" and "healthcheck" not in services[target]:
                check.fail(area, f"{name} waits for {target} to be healthy, but {target} has no healthcheck")
        for source, target in volume_entries(service):
            if source is None:
                continue
            if source.startswith((".", "/", "~", "$")):
                if source.startswith(".") and not os.path.exists(os.path.normpath(os.path.join(compose_dir, source))):
                    check.fail(area, f"{name} mounts {source}, which does not exist")
            elif source not in declared_volumes:
                check.fail(area, f"{name} uses the volume {source}, which the top-level volumes do not declare")
        build = service.get("build") or {}
        if isinstance(build, dict) and build.get("dockerfile"):
            context = os.path.normpath(os.path.join(compose_dir, build.get("context", ".")))
            if not os.path.exists(os.path.join(context, build["dockerfile"])):
                check.fail(area, f"{name} builds {build['dockerfile']} in {build.get('context', '.')}, which does not exist")
    for name, service in services.items():
        if name not in one_shots and "healthcheck" not in service:
            check.fail(area, f"{name} runs for good but has no healthcheck (or is a one-shot step without restart: \"no\")")

    # One service per executable, with its port, role, schema and broker user.
    hpf = {name: service for name, service in services.items()
           if isinstance(service.get("build"), dict) and service["build"].get("dockerfile") == "docker/Dockerfile"}
    expected = {record["executable"]: record for record in model}
    if set(hpf) != set(expected):
        check.fail(area, f"services built from docker/Dockerfile are {sorted(hpf)}; Package.swift's executables are {sorted(expected)}")
    pool_default = default_pool(root)
    needed_connections = RESERVED_CONNECTIONS + TOOL_CONNECTIONS
    for executable, record in expected.items():
        service = hpf.get(executable)
        if service is None:
            continue
        environment = environment_of(service)
        port = str(record["port"])
        command = service.get("command")
        if command not in ([executable], executable):
            check.fail(area, f"{executable} runs {command!r}, expected [{executable!r}]")
        wants = {"HPF_HTTP_PORT": port, "HPF_PG_USER": record["schema"], "HPF_PG_OWNER_USER": record["schema"] + "_owner",
                 "HPF_KAFKA_SASL_USERNAME": executable}
        for key, value in wants.items():
            if environment.get(key) != value:
                check.fail(area, f"{executable}: {key} is {environment.get(key)!r}, expected {value!r}")
        if not any(container == port and host == port for _, host, container in port_mappings(service)):
            check.fail(area, f"{executable} does not publish its port {port} as {port}:{port}")
        test = " ".join(map(str, (service.get("healthcheck") or {}).get("test") or []))
        if test:
            if not re.search(r"/(ready|health)\b", test):
                check.fail(area, f"{executable}'s healthcheck asks neither /ready nor /health: {test}")
            if port not in test and "HPF_HTTP_PORT" not in test:
                check.fail(area, f"{executable}'s healthcheck does not ask its port {port}: {test}")
            tool = re.sub(r"^(CMD-SHELL|CMD)\s+", "", test).split()[0]
            if tool in ("curl", "wget") and tool not in runtime_packages:
                check.fail(area, f"{executable}'s healthcheck runs {tool}, which the Dockerfile's runtime stage does not install")
        pool = int(environment.get("HPF_PG_MAX_CONNECTIONS") or pool_default or 0)
        needed_connections += pool + SIDE_SESSIONS_PER_SERVICE

    # Postgres: the passwords init.sh needs, the init scripts, max_connections.
    postgres = services.get("postgres") or {}
    postgres_environment = environment_of(postgres)
    for record in model:
        for variable in (f"{record['schema'].upper()}_DB_PASSWORD", f"{record['schema'].upper()}_DB_OWNER_PASSWORD"):
            if variable not in postgres_environment:
                check.fail(area, f"postgres lacks {variable} (init.sh sets the {record['schema']} roles' passwords from it)")
    mounts = {target: source for source, target in volume_entries(postgres)}
    if mounts.get("/docker-entrypoint-initdb.d/10-roles.sh") != "./init.sh" or mounts.get("/docker-entrypoint-initdb.d/20-schemas.sql") != "./init.sql":
        check.fail(area, "postgres must run ./init.sh then ./init.sql from /docker-entrypoint-initdb.d")
    command = " ".join(map(str, postgres.get("command") or []))
    match = re.search(r"max_connections=(\d+)", command)
    max_connections = int(match.group(1)) if match else 100
    if pool_default is None:
        check.fail(area, "cannot read HPF_PG_MAX_CONNECTIONS' default in Shared/ServiceRuntime/ServiceConfig.swift")
    elif max_connections < needed_connections:
        check.fail(area, f"Postgres max_connections is {max_connections}; six pools and their side sessions need "
                   f"{needed_connections} (per service its pool + {SIDE_SESSIONS_PER_SERVICE}, + {RESERVED_CONNECTIONS} reserved + {TOOL_CONNECTIONS} for tools)")

    # Kafka: the services' listener, a host listener, the data volume.
    kafka = services.get("kafka") or {}
    kafka_mounts = {target: source for source, target in volume_entries(kafka)}
    properties_source = kafka_mounts.get("/mnt/shared/config/server.properties")
    if not properties_source:
        check.fail(area, "kafka mounts no server.properties")
        return compose
    settings = properties(read(compose_dir, properties_source))
    advertised = listeners(settings.get("advertised.listeners"))
    protocols = dict(item.split(":") for item in settings.get("listener.security.protocol.map", "").split(",") if ":" in item)
    data_volume = kafka_mounts.get(settings.get("log.dirs", "/var/lib/kafka/data"))
    if not data_volume or data_volume.startswith((".", "/")) or data_volume not in declared_volumes:
        check.fail(area, f"kafka keeps {settings.get('log.dirs')} in no named volume")
    service_protocols = set()
    for executable in expected:
        environment = environment_of(hpf.get(executable) or {})
        broker = environment.get("HPF_KAFKA_BROKERS", "")
        protocol = (environment.get("HPF_KAFKA_SECURITY_PROTOCOL") or "plaintext").upper()
        service_protocols.add(protocol)
        matches = [name for name, (host, port) in advertised.items() if f"{host}:{port}" == broker]
        if not matches:
            check.fail(area, f"{executable} uses the broker {broker!r}, which Kafka does not advertise ({settings.get('advertised.listeners')})")
        elif protocols.get(matches[0]) != protocol:
            check.fail(area, f"{executable} speaks {protocol} to {broker}, the listener {matches[0]} is {protocols.get(matches[0])}")
    # A listener the Docker host reaches: advertised on its loopback, bound to every interface of the
    # container (a published port arrives on the container's network interface, not its loopback),
    # and published on the same port.
    bound = listeners(settings.get("listeners"))
    published = {(host, container) for _, host, container in port_mappings(kafka)}
    host_listener = [(name, port) for name, (host, port) in advertised.items()
                     if host in ("localhost", "127.0.0.1") and bound.get(name, ("", ""))[0] in ("", "0.0.0.0", "[::]")
                     and (port, port) in published]
    if not host_listener:
        check.fail(area, "Kafka has no listener for the Docker host: advertise one on localhost:<port> and publish <port>:<port>")
    else:
        name, port = host_listener[0]
        if protocols.get(name) not in service_protocols:
            check.fail(area, f"Kafka's host listener {name} is {protocols.get(name)}, the services' is {', '.join(service_protocols)}")
    if not [f for f in check.failures if f.startswith(area)]:
        check.ok(area, f"valid Compose; {len(services)} services; {len(hpf)} hpf services with port, role, schema, broker user "
                 f"and health check; every depends_on and volume declared; max_connections {max_connections} >= "
                 f"{needed_connections}; Kafka host listener {host_listener[0][0]} localhost:{host_listener[0][1]} "
                 f"({protocols.get(host_listener[0][0])}), data in volume {data_volume}")
    return compose


# --- init.sh, init.sql against pg.sh ----------------------------------------------------------------

def sql_statements(text):
    text = re.sub(r"--[^\n]*", "", text)
    text = re.sub(r"DO\s+\\?\$\\?\$.*?END\s+\\?\$\\?\$\s*;", "", text, flags=re.S | re.I)
    return [normalise(statement) for statement in text.split(";") if statement.strip()]


def normalise(statement):
    statement = re.sub(r"\s+", " ", statement).strip()
    statement = re.sub(r"\bIF NOT EXISTS\b ", "", statement, flags=re.I)
    return statement.upper()


# pg.sh statements that only move an older dev stack's objects to the owner roles; a fresh volume
# (the only time init.sql runs) has nothing to move.
UPGRADE_ONLY = [r"^ALTER SCHEMA \S+ OWNER TO ", r"^REASSIGN OWNED BY "]


def check_init(root, model, compose, check):
    area = "init.sql"
    pg = read(root, "Tools/devstack/pg.sh")
    database = ((compose or {}).get("services", {}).get("postgres", {}).get("environment") or {}).get("POSTGRES_DB", "hpf")
    provision = re.search(r"\nprovision\(\)\s*\{(.*?)\n\}", pg, re.S)
    if not provision:
        check.fail(area, "cannot find provision() in Tools/devstack/pg.sh")
        return
    body = provision.group(1)
    global_statements = [normalise(statement.replace("hpf", database))
                         for statement in re.findall(r'psql_admin -d hpf -c "([^"]+)"', body)
                         if not statement.startswith(("SELECT", "CREATE DATABASE"))]
    heredoc = re.search(r"<<SQL\n(.*?)\nSQL\n", body, re.S)
    template = [statement for statement in sql_statements(heredoc.group(1) if heredoc else "")
                if not any(re.match(pattern, statement) for pattern in UPGRADE_ONLY)]
    if not template:
        check.fail(area, "cannot read the per-role SQL of Tools/devstack/pg.sh")
        return
    init_sql = [statement.replace(':"DBNAME"', database.upper()) for statement in sql_statements(read(root, "docker/init.sql"))]
    expected = list(global_statements)
    for record in model:
        role = record["schema"]
        for statement in template:
            expected.append(statement.replace("${ROLE}", role.upper()).replace("$ROLE", role.upper()))
    for statement in expected:
        if statement not in init_sql:
            check.fail(area, f"lacks `{statement.lower()};` (Tools/devstack/pg.sh applies it)")
    for statement in init_sql:
        if statement not in expected:
            check.fail(area, f"has `{statement.lower()};`, which Tools/devstack/pg.sh does not apply")
    if not [f for f in check.failures if f.startswith(area)]:
        check.ok(area, f"the {len(expected)} statements of Tools/devstack/pg.sh for {len(model)} schemas (search_path, REVOKE, GRANT)")

    area = "init.sh"
    init_sh = read(root, "docker/init.sh")
    roles = set(re.findall(r"CREATE ROLE (\w+) LOGIN", init_sh))
    wanted = {record["schema"] for record in model} | {record["schema"] + "_owner" for record in model}
    if roles != wanted:
        check.fail(area, f"creates the roles {sorted(roles)}: missing {sorted(wanted - roles)}, unexpected {sorted(roles - wanted)}")
    pairs = dict(re.findall(r"\b(\w+):([A-Z_]+_PASSWORD)\b", init_sh))
    for record in model:
        for role, variable in ((record["schema"], f"{record['schema'].upper()}_DB_PASSWORD"),
                               (record["schema"] + "_owner", f"{record['schema'].upper()}_DB_OWNER_PASSWORD")):
            if pairs.get(role) != variable:
                check.fail(area, f"does not check {variable} for the role {role}")
            if f'{role}_password="${variable}"' not in init_sh:
                check.fail(area, f"does not pass {variable} to psql as {role}_password")
    if not [f for f in check.failures if f.startswith(area)]:
        check.ok(area, f"{len(wanted)} roles, each with its password variable")


# --- kafka-setup.sh, documents ----------------------------------------------------------------------

def check_kafka_setup(root, model, compose, check):
    area = "kafka-setup.sh"
    text = read(root, "docker/kafka-setup.sh")
    users = set(re.findall(r"^\s*service\s+([\w-]+)\s", text, re.M))
    expected = {record["executable"] for record in model}
    if users != expected:
        check.fail(area, f"makes the service users {sorted(users)}, expected {sorted(expected)}")
    setup_environment = environment_of(((compose or {}).get("services") or {}).get("kafka-setup") or {})
    for record in model if compose else []:
        variable = record["executable"].upper().replace("-", "_") + "_KAFKA_PASSWORD"
        if variable not in setup_environment:
            check.fail("compose.yaml", f"kafka-setup lacks {variable} (the {record['executable']} broker user's password)")
    if not [f for f in check.failures if f.startswith(area)]:
        check.ok(area, f"one broker user per service ({len(users)})")


def markdown_port_tables(text):
    """[(header cells, [row cells])] of the tables whose first column is `service` and that have a port column."""
    tables, lines = [], text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("|") and i + 1 < len(lines) and re.match(r"^\|[\s:|-]+\|$", lines[i + 1].strip()):
            header = [cell.strip().lower() for cell in line.strip("|").split("|")]
            rows = []
            i += 2
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append([cell.strip() for cell in lines[i].strip().strip("|").split("|")])
                i += 1
            if header and header[0] == "service" and "port" in header:
                tables.append((header, rows))
            continue
        i += 1
    return tables


def check_port_table(path, text, model, check):
    tables = markdown_port_tables(text)
    if not tables:
        check.fail(path, "has no service/port table")
        return
    by_executable = {record["executable"]: record for record in model}
    for header, rows in tables:
        key_column = header.index("executable") if "executable" in header else 0
        port_column = header.index("port")
        schema_column = next((n for n, cell in enumerate(header) if "schema" in cell), None)
        seen = set()
        for row in rows:
            if len(row) <= max(key_column, port_column):
                continue
            key = row[key_column].strip("`").split()[0].strip("`") if row[key_column] else ""
            record = by_executable.get(key)
            if record is None:
                check.fail(path, f"its port table lists {key!r}, which is not a service of Package.swift")
                continue
            seen.add(key)
            if row[port_column].strip("`") != str(record["port"]):
                check.fail(path, f"gives {key} the port {row[port_column]}, the service's is {record['port']}")
            if schema_column is not None and row[schema_column].strip("` ") != record["schema"]:
                check.fail(path, f"gives {key} the schema {row[schema_column]}, the service's is {record['schema']}")
        for missing in sorted(set(by_executable) - seen):
            check.fail(path, f"its port table lacks {missing}")
    if not [f for f in check.failures if f.startswith(path)]:
        check.ok(path, "port table agrees")


def check_documents(root, model, contract, check):
    check_port_table("README.md", read(root, "README.md"), model, check)
    # The binding contract: --contract, else the repository's own copy, else the brief beside the
    # checkout on the development machines (../shared/brief); skipped when there is none.
    candidates = [contract] if contract else [os.path.join(root, "CONTRACT.md"), os.path.join(root, "docs", "CONTRACT.md"),
                                              os.path.join(root, "..", "shared", "brief", "CONTRACT.md")]
    for candidate in candidates[:1] if contract else [next((c for c in candidates if os.path.exists(c)), None)]:
        if candidate and os.path.exists(candidate):
            with open(candidate, encoding="utf-8") as handle:
                check_port_table(os.path.basename(candidate), handle.read(), model, check)
    area = "docs/openapi"
    for record in model:
        path = os.path.join(root, "docs", "openapi", f"{record['executable']}.yaml")
        if not os.path.exists(path):
            check.fail(area, f"no {record['executable']}.yaml")
            continue
        try:
            with open(path, encoding="utf-8") as handle:
                document = yaml.safe_load(handle)
        except yaml.YAMLError as error:
            check.fail(area, f"{record['executable']}.yaml does not parse: {error}")
            continue
        urls = [server.get("url", "") for server in (document or {}).get("servers") or []]
        if not any(re.search(rf":{record['port']}(/|$)", url) for url in urls):
            check.fail(area, f"{record['executable']}.yaml's servers {urls} do not use the port {record['port']}")
    if not [f for f in check.failures if f.startswith(area)]:
        check.ok(area, "every service's server URL has its port")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", default=DEFAULT_ROOT, help="the repository (default: this checkout)")
    parser.add_argument("--contract", help="a CONTRACT.md to compare too (default: CONTRACT.md, docs/CONTRACT.md or "
                        "../shared/brief/CONTRACT.md, the first present)")
    parser.add_argument("--static-only", action="store_true", help="skip the swift package describe/resolve part")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    options = parser.parse_args()
    root = os.path.abspath(options.root)
    started = time.monotonic()
    check = Check()
    model = service_model(root, check)
    check_dockerignore(root, dockerignore_rules(root), check)
    build, image_version, runtime_packages = check_dockerfile(root, model, check)
    compose = check_compose(root, model, runtime_packages, check)
    check_init(root, model, compose, check)
    check_kafka_setup(root, model, compose, check)
    check_documents(root, model, options.contract, check)
    timings = []
    if build is not None and not options.static_only:
        timings = check_swift(root, build, image_version, model, check, options.keep)
    for line in check.lines:
        print(line)
    elapsed = time.monotonic() - started
    detail = f" ({'; '.join(timings)})" if timings else (" (static only)" if options.static_only else "")
    if check.failures:
        for failure in check.failures:
            print(f"FAIL {failure}")
        print(f"deploycheck: {len(check.failures)} problem(s) in {elapsed:.1f} s{detail}")
        return 1
    print(f"deploycheck: docker/ is in step with the package, the dev stack and the docs, in {elapsed:.1f} s{detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
