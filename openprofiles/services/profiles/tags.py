"""TagResource, UntagResource, ListTagsForResource of Customer Profiles resources."""

from openprofiles.errors import BadRequestException
from openprofiles.services import tagging
from openprofiles.services.profiles import operation

tagging.register(operation, BadRequestException)
