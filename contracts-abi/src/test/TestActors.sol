// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @dev Test-only contracts that act as hostile or unusual counterparties of the
/// vault and the pass in tests/integration. Never deployed by make run.

interface IVaultClaim {
    function claim(bytes32 batchKey, address account, uint256 amount, bytes32[] calldata proof) external;
}

/// @notice A payee that accepts ETH and does nothing else (the gas baseline).
contract PlainPayee {
    receive() external payable {}
}

/// @notice A payee that cannot receive ETH.
contract RevertingPayee {
    error NoThanks();

    receive() external payable {
        revert NoThanks();
    }
}

/// @notice A payee that answers every payment with `size` bytes of return data.
contract ReturnBombPayee {
    uint256 public immutable size;

    constructor(uint256 size_) {
        size = size_;
    }

    receive() external payable {
        uint256 n = size;
        assembly {
            return(0, n)
        }
    }
}

/// @notice A payee that, when paid, tries to claim the same leaf again from
/// inside the payment and records what happened.
contract ReentrantPayee {
    IVaultClaim public vault;
    bytes32 public batchKey;
    uint256 public amount;
    bytes32[] private _proof;
    uint256 public payments;
    bool public reentryReverted;

    function arm(IVaultClaim vault_, bytes32 batchKey_, uint256 amount_, bytes32[] calldata proof_) external {
        vault = vault_;
        batchKey = batchKey_;
        amount = amount_;
        _proof = proof_;
    }

    receive() external payable {
        payments += 1;
        if (payments > 1) return;
        try vault.claim(batchKey, address(this), amount, _proof) {}
        catch {
            reentryReverted = true;
        }
    }
}

/// @notice A marketplace that pays royalties the old way: `transfer` and
/// `send` forward only the 2300-gas stipend.
contract StipendRoyaltyPayer {
    error SendFailed();

    function payWithTransfer(address payable receiver) external payable {
        receiver.transfer(msg.value);
    }

    function payWithSend(address payable receiver) external payable {
        if (!receiver.send(msg.value)) revert SendFailed();
    }
}

/// @notice Forces ETH into `target` without calling it (selfdestruct during
/// construction still moves the balance under EIP-6780).
contract ForceSend {
    constructor(address payable target) payable {
        selfdestruct(target);
    }
}
