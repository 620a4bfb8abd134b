"""Security profiles 1 to 3 on both sides of the relay (OCPP 2.0.1 part 2, A00; part 4, 6.5).

Towards its stations the controller acts as the CSMS (the TLS server, checking their basic-auth
passwords or client certificates); towards the CSMS it acts as the station, with its own
credentials and certificates. Nothing here does socket I/O: the relay shell asks these modules
for SSL contexts, header values and accept-or-refuse decisions.
"""
