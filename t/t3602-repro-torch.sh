#!/bin/sh

test_description='mlv repro of a real PyTorch script

A script that seeds torch from $MLV_SEED and asks for deterministic
algorithms reproduces bit for bit, with no change made for mlv beyond
reading the seed; the same script seeded from the clock does not, and
repro --verify names each weight file and tensor that differs.  Weights
are saved with NumPy (.npy), one file per tensor, in a directory output.
Needs Debian'"'"'s python3-torch (python3 -c "import torch").'

. "$(dirname "$0")"/test-lib.sh

for py in python3 /usr/bin/python3
do
	if "$py" -c "import torch, numpy" >/dev/null 2>&1
	then
		TORCH_PYTHON=$py
		break
	fi
done
if test -z "$TORCH_PYTHON"
then
	skip_all='no python3 that can import torch and numpy (python3-torch)'
	test_done
fi

test_expect_success 'setup' '
	test_create_repo repo &&
	cd repo &&
	mlv init -q &&
	cat >train.py <<-\EOF &&
	import os
	import sys
	import time

	import numpy as np
	import torch

	if "--clock" in sys.argv:
	    torch.manual_seed(time.time_ns() % (1 << 62))
	else:
	    torch.manual_seed(int(os.environ["MLV_SEED"]))
	torch.use_deterministic_algorithms(True)
	torch.set_num_threads(2)

	model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
	opt = torch.optim.SGD(model.parameters(), lr=0.1)
	x = torch.randn(256, 16)
	y = torch.randint(0, 4, (256,))
	for step in range(20):
	    opt.zero_grad()
	    loss = torch.nn.functional.cross_entropy(model(x), y)
	    loss.backward()
	    opt.step()
	os.makedirs("weights", exist_ok=True)
	for name, p in model.state_dict().items():
	    np.save(os.path.join("weights", name + ".npy"), p.detach().numpy())
	print("loss=%.6f" % loss.item())
	EOF
	git add -A && test_tick && git commit -q -m train &&
	test_write_lines /out /err /out.json >>.git/info/exclude
'

test_expect_success 'seeded from MLV_SEED with deterministic algorithms: reproduced bit for bit' '
	mlv run -q --name seeded --deterministic -o weights -- "$TORCH_PYTHON" train.py &&
	ls weights >out &&
	test_line_count = 4 out &&
	mlv repro -q --verify seeded >out &&
	cat out &&
	grep "^weights  sha256:[0-9a-f]*  sha256:[0-9a-f]*  yes$" out &&
	grep "^reproduced: every output is bit-identical$" out
'

test_expect_success 'seeded from the clock: not reproduced, each weight file and tensor named' '
	mlv run -q --name clock --deterministic -o weights -- "$TORCH_PYTHON" train.py --clock &&
	test_expect_code 1 mlv repro -q --verify clock >out &&
	cat out &&
	grep "^weights  sha256:[0-9a-f]*  sha256:[0-9a-f]*  NO$" out &&
	grep "^    weights/0.weight.npy: differs$" out &&
	grep "^        tensor array: [1-9][0-9]* of 512 elements differ, max abs [0-9.e+-]*, max rel [0-9.e+-]* (element [0-9]*)$" out &&
	grep "^    weights/2.bias.npy: differs$" out &&
	grep "^not reproduced: 1 of 1 outputs differ$" out &&
	mlv repro -q --json clock >out.json &&
	jq -e ".verified == false and (.outputs[0].files | length) == 4" out.json &&
	jq -e "[.outputs[0].files[].tensors.tensors[0].dtype[0]] | unique == [\"<f4\"]" out.json
'

test_done
