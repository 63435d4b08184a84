"""The grading sandbox, tested directly: what a kernel inside it can see, reach and leave behind."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

pytest.importorskip("nbgrader")
pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

from mixlearn.course import sandbox  # noqa: E402
from mixlearn.course.kernel import SandboxedKernelManager  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_cells(cells, cwd, **traits):
    """Run code cells in a sandboxed kernel with *cwd* as the submission folder; return the outputs."""
    from nbclient import NotebookClient
    from traitlets.config import Config

    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    cfg = Config()
    for k, v in traits.items():
        setattr(cfg.SandboxedKernelManager, k, v)
    client = NotebookClient(nb, kernel_manager_class=SandboxedKernelManager, config=cfg, timeout=60,
                            allow_errors=True, resources={"metadata": {"path": str(cwd)}})
    client.execute()
    return ["".join(o.get("text", "") for o in c.outputs if o["output_type"] == "stream")
            + "".join(f"{o['ename']}: {o['evalue']}" for o in c.outputs if o["output_type"] == "error")
            for c in nb.cells]


@pytest.fixture
def course(tmp_path):
    """A course layout around one submission folder, with secrets the kernel must not see."""
    root = tmp_path / "course"
    (root / "solutions" / "a").mkdir(parents=True)
    (root / "solutions" / "a" / "trusted_checks.py").write_text("SECRET_CHECKS = 1\n")
    (root / "gradebook.db").write_bytes(b"SQLite format 3\x00")
    other = root / "submitted" / "bob" / "a"
    other.mkdir(parents=True)
    (other / "a.ipynb").write_text('{"bob": "work"}')
    mine = root / "autograded" / "alice" / "a"
    mine.mkdir(parents=True)
    (mine / "data.csv").write_text("1,2\n")
    return root, mine, other


def test_kernel_sees_only_its_own_submission(course, tmp_path):
    root, mine, other = course
    home = os.path.expanduser("~")
    out = run_cells([
        "import os\nprint(sorted(os.listdir('.')), os.getcwd())",
        f"print(os.path.exists({str(root / 'solutions')!r}), os.path.exists({str(root / 'gradebook.db')!r}), "
        f"os.path.exists({str(other)!r}), os.path.exists({REPO + '/solutions'!r}), os.environ['HOME'])",
        f"print(sorted(os.listdir({home!r})) if os.path.isdir({home!r}) else [])",
        "open('data.csv', 'w').write('changed'); open('new.txt', 'w').write('x'); print('wrote')",
        f"open({str(root / 'gradebook.db')!r}, 'w').write('extra credit'); print('a file of its own')",
        "print(os.getpid(), len([p for p in os.listdir('/proc') if p.isdigit()]) < 10)",
    ], mine)
    assert out[0] == f"['data.csv'] {mine}\n"
    assert out[1] == "False False False False /tmp\n"   # the course and the repo are absent
    # of the grader's HOME only the path to the Python installation can exist (when it lives there)
    visible = eval(out[2])
    allowed = {os.path.relpath(p, home).split(os.sep)[0] for p in (sys.prefix, sys.base_prefix)
               if p.startswith(home + os.sep)}
    assert set(visible) <= allowed
    assert out[3] == "wrote\n"
    # a path that looks like the gradebook is only a new file in the sandbox's own /tmp
    assert (root / "gradebook.db").read_bytes() == b"SQLite format 3\x00"
    assert out[5].split()[1] == "True"                    # its own PID namespace
    # the submission is a private copy: the folder on the host is unchanged
    assert (mine / "data.csv").read_text() == "1,2\n" and not (mine / "new.txt").exists()
    assert (other / "a.ipynb").read_text() == '{"bob": "work"}'


def test_no_network_and_nothing_reaches_the_host(course):
    _, mine, _ = course
    received = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.2)
    port = server.getsockname()[1]
    stop = threading.Event()

    def accept():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                received.append(conn.recv(100))
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    try:
        out = run_cells([
            "import socket\ns = socket.socket()\ns.settimeout(3)\n"
            f"try:\n    s.connect(('127.0.0.1', {port})); s.send(b'leak'); print('connected')\n"
            "except OSError as e:\n    print('refused', type(e).__name__)",
            "import urllib.request\ntry:\n    urllib.request.urlopen('http://pypi.org', timeout=3)\n"
            "except Exception as e:\n    print('no network', type(e).__name__)",
        ], mine)
    finally:
        stop.set()
        t.join()
        server.close()
    assert out[0].startswith("refused") and out[1].startswith("no network")
    assert received == []


def test_processes_are_gone_after_the_kernel(course):
    _, mine, _ = course
    marker = f"mixlearn-sandbox-test-{os.getpid()}-{time.time_ns()}"
    run_cells([
        "import subprocess\n"
        f"subprocess.Popen(['sh', '-c', 'exec -a {marker} sleep 300'], start_new_session=True)\n"
        "import os\nif os.fork() == 0:\n    os.setsid()\n    import time\n    time.sleep(300)\n    os._exit(0)\n"
        "print('left behind')",
    ], mine)
    time.sleep(0.5)
    alive = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    assert alive == []


def test_parent_processes_cannot_be_signalled(course):
    _, mine, _ = course
    out = run_cells([
        f"import os, signal\ntry:\n    os.kill({os.getpid()}, signal.SIGTERM); print('sent')\n"
        "except ProcessLookupError:\n    print('no such process')",
        "try:\n    os.kill(-1, signal.SIGKILL)\nexcept Exception as e:\n    print(type(e).__name__)",
    ], mine)
    assert out[0] == "no such process\n"
    # kill(-1) inside the sandbox only reaches the sandbox; this test process is still here


def test_student_edition_switches_off_the_library_em(course):
    _, mine, _ = course
    out = run_cells([
        "import mixlearn as ml\nml.em_n_components([1, 2], [ml.Poisson(1.0)])",
        "import importlib, mixlearn.em\nimportlib.reload(mixlearn.em)\nmixlearn.em.e_step([1], [1.0], [ml.Poisson(1.0)])",
        "import inspect\nprint('def em_n_components' in open(mixlearn.em.__file__).read(), "
        "'logsumexp' in inspect.getsource(mixlearn.mixture.posterior))",
        "import sklearn.mixture",
        "print(ml.mixture_logpdf([0, 1], [0.5, 0.5], [ml.Poisson(1.0), ml.Poisson(2.0)]).round(4), "
        "ml.sample_mixture([0.5, 0.5], [ml.Poisson(1.0), ml.Poisson(2.0)], 3, random_state=0)[0].shape)",
    ], mine)
    assert "switched off while grading" in out[0]
    assert "switched off while grading" in out[1]
    assert out[2] == "True False\n"   # the stub's own def, no implementation anywhere
    assert out[3].startswith("ImportError") and "scikit-learn is switched off while grading" in out[3]
    # what students may use still works (oracle: scipy's Poisson pmf)
    from scipy.stats import poisson

    expected = [round(float(np.log(0.5 * poisson.pmf(k, 1.0) + 0.5 * poisson.pmf(k, 2.0))), 4) for k in (0, 1)]
    assert out[4] == f"{np.array(expected)} (3,)\n"


def test_student_edition_stubs_exactly_the_listed_names(tmp_path):
    dest = sandbox.build_student_edition(sandbox.mixlearn_package_dir(), str(tmp_path / "mixlearn"))
    assert not os.path.exists(os.path.join(dest, "course")) and not os.path.exists(os.path.join(dest, "teaching"))
    code = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import mixlearn as ml\n"
            "import mixlearn._logsumexp as l\n"
            "for f in (ml.e_step, ml.m_step, ml.em_two_components, ml.em_n_components, ml.posterior,"
            " l.normalize_components, ml.GaussianMixture, ml.BernoulliMixture):\n"
            "    try:\n        f(1, 2, 3)\n        print('ran', f)\n"
            "    except RuntimeError as e:\n        assert 'switched off' in str(e)\n"
            "print(ml.mixture_logpdf([1.0], [1.0], [ml.Gaussian(0.0, 1.0)]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "ran" not in out.stdout


def test_a_module_added_to_mixlearn_later_is_switched_off_by_default(tmp_path):
    """The edition keeps an allow-list of modules: a new module (here a MAP-EM a student could call
    instead of writing EM, and one in a new subpackage) is stubbed without anyone listing it."""
    pkg = tmp_path / "src" / "mixlearn"
    shutil.copytree(sandbox.mixlearn_package_dir(), pkg, ignore=shutil.ignore_patterns("__pycache__"))
    (pkg / "map_em.py").write_text("def map_weights(x, components, alpha=1.0):\n    return [0.5, 0.5]\n\n"
                                   "class Helper:\n    pass\n")
    (pkg / "extra").mkdir()
    (pkg / "extra" / "__init__.py").write_text("")
    (pkg / "extra" / "fit.py").write_text("def em_again(x):\n    return 42\n")
    assert "map_em.py" in sandbox.stub_modules(str(pkg)) and "extra/fit.py" in sandbox.stub_modules(str(pkg))
    dest = sandbox.build_student_edition(str(pkg), str(tmp_path / "ed" / "mixlearn"))
    code = ("import mixlearn.map_em as m, mixlearn.extra.fit as f\n"
            "for call in (lambda: m.map_weights([1], []), lambda: f.em_again(1), lambda: m.Helper()):\n"
            "    try:\n        print('ran', call())\n    except RuntimeError as e:\n        print('switched off' in str(e))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/",
                         env={"PYTHONPATH": os.path.dirname(dest), "PATH": os.environ["PATH"]})
    assert out.stdout == "True\nTrue\nTrue\n", out.stdout + out.stderr


def test_an_assignment_can_switch_off_mixture_logpdf_too(tmp_path):
    """mixture_logpdf stays available by default (the edition writes its own version); an assignment
    that lists it in SWITCHED_OFF gets it switched off, not silently rewritten."""
    code = ("import mixlearn as ml\ntry:\n    print(ml.mixture_logpdf([1.0], [1.0], [ml.Gaussian(0.0, 1.0)]))\n"
            "except RuntimeError as e:\n    print('switched off' in str(e))")
    for switched_off, expected in [((), "[-1.41893853]\n"), (("mixture.py:mixture_logpdf",), "True\n")]:
        dest = sandbox.build_student_edition(sandbox.mixlearn_package_dir(), str(tmp_path / str(len(switched_off)) / "mixlearn"),
                                             switched_off)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd="/",
                             env={"PYTHONPATH": os.path.dirname(dest), "PATH": os.environ["PATH"]})
        assert out.stdout == expected, out.stderr


def test_no_other_copy_of_a_library_is_within_reach(course):
    """Only the kernel's own site-packages is mounted: other interpreters' site-packages (where a
    second scikit-learn or mixlearn could live) are empty, and of /opt only the student edition's folder exists."""
    _, mine, _ = course
    foreign = sandbox._foreign_site_dirs(sandbox.locate())
    out = run_cells([f"import os\nprint([os.listdir(p) for p in {foreign!r}], os.listdir('/opt'))",
                     "import sys\nprint([p for p in sys.path if 'site-packages' in p])"], mine)
    assert out[0] == f"{[[] for _ in foreign]} ['mixlearn-student']\n"
    kernel_site = eval(out[1])
    assert kernel_site and all(p.startswith(os.path.realpath(sys.prefix)) or p.startswith(sys.prefix) for p in kernel_site)


def test_limits_reach_the_kernel_through_configuration(course):
    _, mine, _ = course
    out = run_cells(["import resource, os\nprint(resource.getrlimit(resource.RLIMIT_AS)[0], "
                     "os.environ['OMP_NUM_THREADS'])"], mine, memory=1024 ** 3, threads=1)
    assert out[0] == f"{1024 ** 3} 1\n"


def test_missing_bubblewrap_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap"):
        sandbox.find_bwrap()
