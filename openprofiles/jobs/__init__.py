"""Work that runs outside a request: periodic maintenance now, durable jobs as they land."""
