import os

from digit_app.quiet_start import tensorflow_chatter_hidden, without_chatter

ABSL_NOTICE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
ONEDNN = "I0000 00:00:1795374679.254465    7200 port.cc:153] oneDNN custom operations are on.\n"
CUDA = "I0000 00:00:1795374679.254715    7200 cudart_stub.cc:31] Could not find cuda drivers on your machine.\n"
AN_ERROR = "E0000 00:00:1795374720.320891    7619 some_op.cc:52] a real failure\n"


def test_only_tensorflow_start_up_chatter_is_dropped():
    kept = "Traceback (most recent call last):\n" + AN_ERROR
    assert without_chatter(ABSL_NOTICE + ONEDNN + kept + CUDA) == kept


def test_what_is_written_to_fd_2_meanwhile_reaches_stderr_without_the_chatter(capfd):
    with tensorflow_chatter_hidden():
        os.write(2, (ABSL_NOTICE + ONEDNN + "a real problem\n" + CUDA).encode())
    os.write(2, b"after\n")
    assert capfd.readouterr().err == "a real problem\nafter\n"
