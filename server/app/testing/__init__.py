"""Support code that the test suite and the benchmarks (`tools/benchkit`) share: the
real API and worker run as OS processes (`processes.Services`), and MP4 files built box
by box (`mp4_synth`). Part of the package so both import the same code; nothing in the
service imports it.
"""
