"""Local processes on 127.0.0.1 shared by the labs and the load tests: free ports, servers run in a
process group of their own (stopped whole), and a background HTTP server."""
