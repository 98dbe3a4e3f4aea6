"""Handlers of the Amazon Connect API (service ``connect``)."""

from openprofiles.services.registry import Registrar

operation = Registrar("connect")
