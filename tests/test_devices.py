import pytest
import torch

from vae_core.devices import available_devices, resolve_device
from vae_core.errors import VaeError


def test_cpu_and_auto_resolve():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto") == torch.device(available_devices()[0])
    assert available_devices()[-1] == "cpu"


def test_unknown_device_names_the_choices():
    with pytest.raises(VaeError, match="unknown device 'banana'.*available here: .*cpu"):
        resolve_device("banana")


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("name", ["cuda", "cuda:7"])
def test_absent_cuda_is_a_clear_error(name):
    with pytest.raises(VaeError, match=f"device '{name}' is not available here; available: cpu"):
        resolve_device(name)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_resolves_to_the_first_gpu():
    assert resolve_device("cuda") == torch.device("cuda:0")
