"""The omni-infra Pulumi program: read the stack's config, build the components, export.

`pulumi up` runs this file, and so does the offline engine (`omni preview`), for every stack.
"""

import pulumi

from components.network import REQUIRED_APIS as NETWORK_APIS
from components.network import Network, NetworkArgs
from components.project_services import ProjectServices, ProjectServicesArgs
from components.provider import google_provider
from stackconfig import load_from_runtime

config = load_from_runtime(pulumi.get_stack())

provider = google_provider(config)
apis = ProjectServices(
    f"{config.base_name}-apis",
    ProjectServicesArgs(project=config.project, services=NETWORK_APIS),
    opts=pulumi.ResourceOptions(providers=[provider]),
)
network = Network(
    config.base_name,
    NetworkArgs(region=config.region, settings=config.network, protect=config.protect, required_apis=[apis]),
    opts=pulumi.ResourceOptions(providers=[provider]),
)

pulumi.export("project", config.project)
pulumi.export("region", config.region)
pulumi.export("network_id", network.network_id)
pulumi.export("subnet_id", network.subnet_id)
pulumi.export("private_services_range", network.private_services_range.name)
