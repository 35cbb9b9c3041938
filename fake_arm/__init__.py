"""An in-memory Azure Resource Manager for tests and demos, reached through `transport=`.

Never deployed: the Functions app and the CLI talk to Azure itself.
"""

from fake_arm.arm import ARM_BASE, FakeArm, FakeResponse, load_resources
from fake_arm.control import Fault, RequestRecord, critical_path
from fake_arm.transport import FakeArmTransport, ForeignHostError

__all__ = [
    "ARM_BASE",
    "FakeArm",
    "FakeArmTransport",
    "FakeResponse",
    "Fault",
    "ForeignHostError",
    "RequestRecord",
    "critical_path",
    "load_resources",
]
