"""Checks on the built collection tarball that galaxy-importer does not make.

    python scripts/check_build.py vpsorg-cloud-X.Y.Z.tar.gz

- No empty folder ships: build_ignore can leave one behind when it drops
  every file of a folder but not the folder.
- One version: MANIFEST.json (from galaxy.yml) and the User-Agent's
  COLLECTION_VERSION in plugins/module_utils/client.py say the same.
"""

import json
import posixpath
import re
import sys
import tarfile

CLIENT = "plugins/module_utils/client.py"


def empty_folders(members):
    folders = {m.name.rstrip("/") for m in members if m.isdir()}
    parents = {posixpath.dirname(m.name.rstrip("/")) for m in members}
    return sorted(folders - parents - {"", "."})


def versions(archive):
    manifest = json.load(archive.extractfile("MANIFEST.json"))["collection_info"]["version"]
    client = archive.extractfile(CLIENT).read().decode("utf-8")
    match = re.search(r'^COLLECTION_VERSION = "([^"]+)"$', client, re.M)
    return manifest, match.group(1) if match else None


def main(path):
    problems = []
    with tarfile.open(path) as archive:
        members = archive.getmembers()
        for folder in empty_folders(members):
            problems.append("empty folder %s/: add it to build_ignore in galaxy.yml (or ship a file in it)" % folder)
        manifest, client = versions(archive)
        if manifest != client:
            problems.append("version %s in MANIFEST.json (galaxy.yml) but COLLECTION_VERSION = %r in %s"
                            % (manifest, client, CLIENT))
    for problem in problems:
        print("%s: %s" % (path, problem))
    if not problems:
        print("%s: %d files, no empty folder, version %s in galaxy.yml and %s"
              % (path, sum(1 for m in members if m.isfile()), manifest, CLIENT))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
