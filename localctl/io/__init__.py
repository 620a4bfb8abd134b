"""Thin asyncio shells around the sans-I/O cores: sockets in, sockets out."""
