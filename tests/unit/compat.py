"""What the unit tests need from ansible-core, on every release the collection claims (2.17 to 2.19).

`ansible.module_utils.testing.patch_module_args` exists only from ansible-core 2.19. On 2.17 and 2.18
`AnsibleModule` reads its arguments from `ansible.module_utils.basic._ANSIBLE_ARGS` (JSON bytes) when it
is set, which is what 2.19's helper patches too; the fallback below does the same.

Import it as `from ansible_collections.tcp.keepalive.tests.unit.compat import patch_module_args`: that
name resolves both under plain pytest (tests/conftest.py) and under `ansible-test units`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from unittest import mock

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    from ansible.module_utils import basic

    @contextlib.contextmanager
    def patch_module_args(args: dict[str, Any] | None = None) -> Iterator[None]:
        """Expose the given module args to `AnsibleModule` instances created within this context."""
        if not isinstance(args, (dict, type(None))):
            raise TypeError("The `args` arg must be a dict or None.")
        serialized = json.dumps({"ANSIBLE_MODULE_ARGS": args or {}}).encode()
        with mock.patch.object(basic, "_ANSIBLE_ARGS", serialized):
            yield


# ansible-core 2.19 sends a module's warnings through Display once controller code has been imported in
# the process (`_internal.is_controller`); tests set it False to run main() as on a managed node. Before
# 2.19 warnings always go into the result, and there is nothing to switch: a stand-in takes the setattr.
try:
    from ansible.module_utils import _internal as module_utils_internal
except ImportError:  # ansible-core 2.17 has no _internal package
    module_utils_internal = SimpleNamespace(is_controller=False)
if not hasattr(module_utils_internal, "is_controller"):  # ansible-core 2.18 has one without the flag
    module_utils_internal = SimpleNamespace(is_controller=False)

__all__ = ["module_utils_internal", "patch_module_args"]
