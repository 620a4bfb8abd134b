"""The sans-I/O relay core: frames in, frames and events out; no sockets, no asyncio."""
