// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

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

/// @notice A contract wallet (EIP-1271) for the SIWE tests: isValidSignature
/// answers the magic value 0x1626ba7e exactly when OpenZeppelin's ECDSA
/// recovers `owner` from (hash, signature), and 0xffffffff otherwise (ECDSA
/// takes v 27/28 only and rejects high s).
contract Eip1271Wallet is IERC1271 {
    address public immutable owner;

    constructor(address owner_) {
        owner = owner_;
    }

    function isValidSignature(bytes32 hash, bytes calldata signature) external view returns (bytes4) {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(hash, signature);
        if (err == ECDSA.RecoverError.NoError && signer == owner) return IERC1271.isValidSignature.selector;
        return 0xffffffff;
    }
}

/// @notice Answers every isValidSignature call with the same 32-byte word,
/// whatever the hash and signature (a wrong or malformed answer for the SIWE
/// tests), or reverts when that word is zero.
contract Eip1271FixedAnswer {
    error NoAnswer();

    bytes32 public immutable answer;

    constructor(bytes32 answer_) {
        answer = answer_;
    }

    function isValidSignature(bytes32, bytes calldata) external view returns (bytes32) {
        if (answer == bytes32(0)) revert NoAnswer();
        return answer;
    }
}
