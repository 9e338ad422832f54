"""A PEP 517 build backend in the standard library only, so that ``pip install ./sdks/python``
works offline in any environment (no setuptools or wheel download, with or without build
isolation). It packs ``cloud_api/`` into a pure-Python wheel, and the tree into an sdist.
"""

import base64
import hashlib
import io
import os
import re
import tarfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "cloud_api"


def _project():
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    section = text.split("[project]", 1)[1].split("\n[", 1)[0]

    def field(name):
        match = re.search(r'^%s\s*=\s*"([^"]*)"' % re.escape(name), section, re.M)
        if not match:
            raise ValueError("pyproject.toml [project] has no %s" % name)
        return match.group(1)

    return {
        "name": field("name"),
        "version": field("version"),
        "summary": field("description"),
        "requires_python": field("requires-python"),
    }


def _metadata():
    p = _project()
    lines = [
        "Metadata-Version: 2.1",
        "Name: %s" % p["name"],
        "Version: %s" % p["version"],
        "Summary: %s" % p["summary"],
        "Requires-Python: %s" % p["requires_python"],
        "License: Proprietary",
        "Classifier: Typing :: Typed",
        "Description-Content-Type: text/markdown",
    ]
    readme = os.path.join(ROOT, "README.md")
    body = ""
    if os.path.exists(readme):
        with open(readme, encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _dist_info():
    p = _project()
    return "%s-%s.dist-info" % (p["name"].replace("-", "_"), p["version"])


def _package_files():
    base = os.path.join(ROOT, PACKAGE)
    for name in sorted(os.listdir(base)):
        if name.endswith(".py") or name == "py.typed":
            yield "%s/%s" % (PACKAGE, name), os.path.join(base, name)


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def _write_metadata(directory):
    info = os.path.join(directory, _dist_info())
    os.makedirs(info, exist_ok=True)
    for name, content in _dist_info_files().items():
        with open(os.path.join(info, name), "w", encoding="utf-8") as f:
            f.write(content)
    return os.path.basename(info)


def _dist_info_files():
    return {
        "METADATA": _metadata(),
        "WHEEL": "Wheel-Version: 1.0\nGenerator: cloud_api_build\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
        "top_level.txt": PACKAGE + "\n",
    }


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    return _write_metadata(metadata_directory)


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    p = _project()
    filename = "%s-%s-py3-none-any.whl" % (p["name"].replace("-", "_"), p["version"])
    info = _dist_info()
    records = []
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w", zipfile.ZIP_DEFLATED) as whl:
        for arcname, path in _package_files():
            with open(path, "rb") as f:
                data = f.read()
            whl.writestr(arcname, data)
            records.append(_record_line(arcname, data))
        for name, content in _dist_info_files().items():
            data = content.encode("utf-8")
            whl.writestr("%s/%s" % (info, name), data)
            records.append(_record_line("%s/%s" % (info, name), data))
        records.append("%s/RECORD,," % info)
        whl.writestr("%s/RECORD" % info, "\n".join(records) + "\n")
    return filename


def build_sdist(sdist_directory, config_settings=None):
    p = _project()
    base = "%s-%s" % (p["name"].replace("-", "_"), p["version"])
    filename = base + ".tar.gz"
    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz") as tar:
        for rel in ["pyproject.toml", "README.md", "_build/cloud_api_build.py"]:
            if os.path.exists(os.path.join(ROOT, rel)):
                tar.add(os.path.join(ROOT, rel), arcname="%s/%s" % (base, rel))
        for arcname, path in _package_files():
            tar.add(path, arcname="%s/%s" % (base, arcname))
        data = _metadata().encode("utf-8")
        info = tarfile.TarInfo("%s/PKG-INFO" % base)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return filename
