"""The reference network, built from the real packages exactly as the reference code wires them
(SnnDelays.forward and snn.SNN.forward of github.com/Thvnvtos/SNN-delays): per hidden block
Dcls1d (or spikingjelly Linear for the no-delay ablation) → BatchNorm1d over time × batch →
LIFNode (ATan α = 5, detached hard reset, no input decay) → Dropout with one mask per sequence;
then Dcls1d → LIFNode readout with threshold 1e9 whose membrane sequence is the output.
Shared by make_fixtures.py and bench.py."""

import torch
import torch.nn.functional as F
from spikingjelly.activation_based import functional, layer, neuron, surrogate

from DCLS.construct.modules import Dcls1d


class RefNet(torch.nn.Module):
    def __init__(self, n_in, hidden, n_out, d, mode, tau, p, sig):
        super().__init__()
        self.mode, self.d = mode, d
        self.left, self.right = d - 1, (d - 1) // 2
        version = "gauss" if mode == "learned" else "max"
        widths = [n_in] + hidden
        convs = []
        for c_in, c_out in zip(widths, hidden + [n_out]):
            if mode == "none":
                convs.append(layer.Linear(c_in, c_out, bias=False, step_mode="m"))
            else:
                convs.append(Dcls1d(c_in, c_out, kernel_count=1, dilated_kernel_size=d, bias=False, version=version))
        self.convs = torch.nn.ModuleList(convs)
        self.bns = torch.nn.ModuleList([layer.BatchNorm1d(h, step_mode="m") for h in hidden])
        atan = surrogate.ATan(alpha=5.0)
        self.lifs = torch.nn.ModuleList([
            neuron.LIFNode(tau=tau, v_threshold=1.0, surrogate_function=atan, detach_reset=True,
                           step_mode="m", decay_input=False, store_v_seq=True)
            for _ in hidden
        ])
        self.drops = torch.nn.ModuleList([layer.Dropout(p, step_mode="m") for _ in hidden])
        self.readout = neuron.LIFNode(tau=tau, v_threshold=1e9, surrogate_function=atan, detach_reset=True,
                                      step_mode="m", decay_input=False, store_v_seq=True)
        if mode != "none":
            for conv in self.convs:
                torch.nn.init.constant_(conv.SIG, sig)
                conv.SIG.requires_grad = False

    def delay(self, conv, x):
        if self.mode == "none":
            return conv(x)
        u = F.pad(x.permute(1, 2, 0), (self.left, self.right), "constant", 0)
        return conv(u).permute(2, 0, 1)

    def forward(self, x, record):
        for l, (conv, bn, lif, drop) in enumerate(zip(self.convs, self.bns, self.lifs, self.drops)):
            a = self.delay(conv, x)
            z = bn(a.unsqueeze(3)).squeeze()
            s = lif(z)
            x = drop(s)
            record[f"layer{l}.conv_out"] = a
            record[f"layer{l}.bn_out"] = z
            record[f"layer{l}.spikes"] = s
            record[f"layer{l}.v_seq"] = lif.v_seq
            record[f"layer{l}.dropout_out"] = x
        a = self.delay(self.convs[-1], x)
        record["out.conv_out"] = a
        self.readout(a)
        return self.readout.v_seq


def sum_softmax_ce(v, y):
    m = torch.softmax(v, dim=2).sum(0)
    return torch.nn.CrossEntropyLoss()(m, F.one_hot(y, v.shape[2]).float())


def round_for_eval(net):
    """The evaluation transform (method §15): SIG = 0, triangle ("max") kernel, positions rounded
    half-to-even and clamped; BatchNorm on running statistics, dropout off."""
    with torch.no_grad():
        if net.mode != "none":
            for conv in net.convs:
                conv.SIG.zero_()
                conv.version = "max"
                conv.DCK.version = "max"
                conv.P.round_()
                conv.clamp_parameters()
    net.eval()


def init_reference(net, taps):
    """The reference's initialisation (method §6): Kaiming-uniform weights, positions
    U(-D//2, D//2) clamped. Call after torch.manual_seed."""
    with torch.no_grad():
        for conv in net.convs:
            torch.nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")
            torch.nn.init.uniform_(conv.P, a=-taps // 2, b=taps // 2)
            conv.clamp_parameters()


def optimisers(net):
    """The two Adam optimisers of method §13: weights (decay 1e-5) and BatchNorm (no decay), and
    positions (lr 0.1)."""
    weights = [conv.weight for conv in net.convs]
    bn = [p for b in net.bns for p in (b.weight, b.bias)]
    opt1 = torch.optim.Adam([{"params": weights, "weight_decay": 1e-5}, {"params": bn, "weight_decay": 0.0}], lr=1e-3)
    opt2 = torch.optim.Adam([conv.P for conv in net.convs], lr=0.1)
    return opt1, opt2


def train_step(net, opt1, opt2, x, y, record):
    """One training batch in the reference's order (method §14.4): zero, forward, loss, backward,
    both optimiser steps, reset, clamp."""
    opt1.zero_grad()
    opt2.zero_grad()
    loss = sum_softmax_ce(net(x, record), y)
    loss.backward()
    opt1.step()
    opt2.step()
    functional.reset_net(net)
    for conv in net.convs:
        conv.clamp_parameters()
    return loss
