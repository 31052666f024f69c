"""What ``uv build`` makes of the checkout: a wheel and an sdist that ``twine check`` accepts, the wheel holding the
package with its entry points, licence and browser files, and nothing of the tests or the partner sandbox."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "airflow_provider_actito_sftp"
BUILD_TIMEOUT = 180  # seconds: the build backend may be installed first


def _uv() -> str:
    """uv from PATH, else the one ``make`` bootstraps into .tools/."""
    found = shutil.which("uv") or str(REPO / ".tools" / "bin" / "uv")
    assert Path(found).exists(), "uv is needed to build the package (make venv bootstraps it into .tools/)"
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [_uv(), "build", "--quiet", "--out-dir", str(out), str(REPO)], check=True, timeout=BUILD_TIMEOUT, cwd=REPO
    )
    return {"wheel": next(out.glob("*.whl")), "sdist": next(out.glob("*.tar.gz"))}


def test_twine_accepts_the_wheel_and_the_sdist(built: dict[str, Path]) -> None:
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(built["wheel"]), str(built["sdist"])],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2, checked.stdout


def test_the_wheel_holds_the_package_and_nothing_of_the_tests(built: dict[str, Path]) -> None:
    with zipfile.ZipFile(built["wheel"]) as wheel:
        names = wheel.namelist()
        entry_points = next(wheel.read(name) for name in names if name.endswith(".dist-info/entry_points.txt"))
    assert f"{PACKAGE}/plugin/static/index.html" in names  # the page ships with the package
    assert f"{PACKAGE}/py.typed" in names  # typed: mypy users see our annotations
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in names)
    assert {name.split("/")[0] for name in names} == {PACKAGE, built["wheel"].name.split("-py3")[0] + ".dist-info"}
    text = entry_points.decode()
    for group, entry in [
        ("console_scripts", f"actito-sftp = {PACKAGE}.cli:main"),
        ("airflow.plugins", f"actito_sftp = {PACKAGE}.plugin:ActitoSftpPlugin"),
        ("apache_airflow_provider", f"provider_info = {PACKAGE}:get_provider_info"),
    ]:
        assert f"[{group}]" in text, text
        assert entry in text, text


def test_the_sdist_carries_the_changelog_the_licence_and_the_readme(built: dict[str, Path]) -> None:
    with tarfile.open(built["sdist"]) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert {"CHANGELOG.md", "LICENSE", "README.md", "pyproject.toml"} <= names
