"""TagResource, UntagResource, ListTagsForResource of Amazon Connect resources."""

from openprofiles.errors import InvalidParameterException
from openprofiles.services import tagging
from openprofiles.services.connect import operation

tagging.register(operation, InvalidParameterException)
