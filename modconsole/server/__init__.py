"""The modconsole server: the websockets service, the durable timing log and reports."""
