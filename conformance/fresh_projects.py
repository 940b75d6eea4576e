#!/usr/bin/env python3
"""A new user's first step, for each crate: a fresh cargo project with exactly the
[dependencies] lines the crate's README gives (the crate itself by path, as it is not
published yet), and the crate's front-page example as src/main.rs, unchanged. Each must
build and run to completion. Projects go to target/fresh/<crate>, sharing one target dir.

Usage: python3 conformance/fresh_projects.py [CRATE...]   (default: every crate)
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["wm-protocol", "wm-text", "wm-frame", "wm-jsonnl", "wm-websocket", "wm-http", "wm-server"]


def dependencies(crate):
    readme = open(os.path.join(ROOT, "crates", crate, "README.md")).read()
    block = re.search(r"```toml\n\[dependencies\]\n(.*?)```", readme, re.S)
    if not block:
        sys.exit(f"{crate}: README.md has no [dependencies] block")
    lines = []
    for line in block.group(1).splitlines():
        name = line.split("=", 1)[0].strip()
        if name == crate:
            # The crate from this checkout, with the features the README line asks for.
            features = re.search(r"features\s*=\s*(\[[^\]]*\])", line)
            extra = f", features = {features.group(1)}" if features else ""
            line = f'{crate} = {{ path = "{os.path.join(ROOT, "crates", crate)}"{extra} }}'
        lines.append(line)
    return "\n".join(lines)


def front_page_example(crate):
    """The first ``` block after the front page's first "# Example" heading, as rustdoc
    runs it: hidden `# ` lines included, `fn main` added if it has none."""
    lib = open(os.path.join(ROOT, "crates", crate, "src", "lib.rs")).read()
    # The crate docs, `//! ` (or a bare `//!`) cut off each line.
    docs = "\n".join(line[4:] if line.startswith("//! ") else line[3:]
                      for line in lib.splitlines() if line.startswith("//!"))
    example = re.search(r"^# Example.*?\n```[a-z]*\n(.*?)\n```", docs, re.S | re.M)
    if not example:
        sys.exit(f"{crate}: no example on the front page")
    code = []
    for line in example.group(1).splitlines():
        if line == "#":
            line = ""
        elif line.startswith("# "):
            line = line[2:]
        code.append(line)
    code = "\n".join(code)
    if "fn main" not in code:
        uses = [l for l in code.splitlines() if l.startswith("use ")]
        body = [l for l in code.splitlines() if not l.startswith("use ")]
        code = "\n".join(uses) + "\nfn main() -> Result<(), Box<dyn std::error::Error>> {\n" + "\n".join(body) + "\n}\n"
    return code + "\n"


def run(crate):
    project = os.path.join(ROOT, "target", "fresh", crate)
    os.makedirs(os.path.join(project, "src"), exist_ok=True)
    with open(os.path.join(project, "Cargo.toml"), "w") as f:
        f.write(f'[package]\nname = "fresh-{crate}"\nversion = "0.0.0"\nedition = "2021"\npublish = false\n\n'
                f"[workspace]\n\n[dependencies]\n{dependencies(crate)}\n")
    with open(os.path.join(project, "src", "main.rs"), "w") as f:
        f.write(front_page_example(crate))
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target", "fresh-target"))
    result = subprocess.run(["cargo", "run", "-q"], cwd=project, env=env, timeout=900)
    print(f"{'ok' if result.returncode == 0 else 'FAILED'}: {crate} (a fresh project with its README's dependencies runs its front-page example)", flush=True)
    return result.returncode == 0


def main():
    crates = sys.argv[1:] or CRATES
    results = [run(crate) for crate in crates]
    passed = sum(results)
    print(f"fresh projects: {passed} passed, {len(results) - passed} failed")
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
