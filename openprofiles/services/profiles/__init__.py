"""Handlers of the Amazon Connect Customer Profiles API (service ``customer-profiles``)."""

from openprofiles.services.registry import Registrar

operation = Registrar("customer-profiles")
