// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";
import {ERC2981} from "@openzeppelin/contracts/token/common/ERC2981.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @dev The part of SettlementVault that a pass contract calls.
interface ISettlementVault {
    function deposit(bytes32 creatorKey, uint8 kind, address payer) external payable;
}

/// @title RightsPass
/// @notice One ERC-721 pass collection of one creator. Every wei it receives is
/// forwarded to the SettlementVault, attributed to `creatorKey`
/// (= keccak256(bytes(creator_id))): a sale price in the same transaction (kind 1),
/// and a royalty (kind 2) in the same transaction when the sender left enough gas.
/// @dev Token ids run from 1 to maxSupply. ERC-2981 royalties name this contract as
/// receiver, so royalties arrive through receive(). Marketplaces that pay with
/// `transfer`/`send` give only the 2300-gas stipend, too little to call the vault:
/// then receive() keeps the royalty (emitting RoyaltyHeld) and flush(), callable by
/// anyone, forwards everything held later. A royalty is never bounced or lost.
contract RightsPass is ERC721, ERC2981, Ownable {
    uint8 internal constant KIND_PASS_SALE = 1;
    uint8 internal constant KIND_ROYALTY = 2;
    /// @dev Gas receive() needs in hand to forward a royalty: the value-bearing call
    /// (~12k with the cold access) plus the vault's deposit writing two cold zero
    /// slots (~50k), with margin. Below it, the royalty is held for flush().
    uint256 internal constant FORWARD_GAS_MIN = 100_000;

    uint256 private immutable _price;
    uint256 private immutable _maxSupply;
    ISettlementVault private immutable _vault;
    bytes32 private immutable _creatorKey;
    uint256 private _totalMinted;

    event PassPurchased(address indexed buyer, uint256 indexed tokenId, uint256 price);
    /// @notice A royalty kept for a later flush() because too little gas came with it.
    event RoyaltyHeld(address indexed from, uint256 amount);

    error ZeroAddress();
    error ZeroPrice();
    error ZeroMaxSupply();
    error WrongPayment(uint256 sent, uint256 price);
    error SoldOut(uint256 maxSupply);

    constructor(
        string memory name_,
        string memory symbol_,
        uint256 price_,
        uint256 maxSupply_,
        uint96 royaltyBps_,
        address vault_,
        bytes32 creatorKey_,
        address owner_
    ) ERC721(name_, symbol_) Ownable(owner_) {
        if (vault_ == address(0)) revert ZeroAddress();
        // The vault rejects zero-value deposits, so a free pass could never be minted.
        if (price_ == 0) revert ZeroPrice();
        if (maxSupply_ == 0) revert ZeroMaxSupply();
        _price = price_;
        _maxSupply = maxSupply_;
        _vault = ISettlementVault(vault_);
        _creatorKey = creatorKey_;
        // Reverts with ERC2981InvalidDefaultRoyalty when royaltyBps_ > 10000.
        _setDefaultRoyalty(address(this), royaltyBps_);
    }

    /// @notice Buy the next pass for exactly price() wei; returns its token id.
    function mint() external payable returns (uint256) {
        if (msg.value != _price) revert WrongPayment(msg.value, _price);
        uint256 minted = _totalMinted;
        if (minted >= _maxSupply) revert SoldOut(_maxSupply);
        uint256 tokenId = minted + 1;
        _totalMinted = tokenId;
        // _mint, not _safeMint: the buyer is msg.sender, who chose to call us, and
        // no callback into the buyer can run before the payment is forwarded.
        _mint(msg.sender, tokenId);
        _vault.deposit{value: msg.value}(_creatorKey, KIND_PASS_SALE, msg.sender);
        emit PassPurchased(msg.sender, tokenId, msg.value);
        return tokenId;
    }

    /// @notice Royalties (ERC-2981 receiver is this contract): forwarded to the vault
    /// as kind 2 with the sender as payer when enough gas came with them, otherwise
    /// held for flush(). A zero-value transfer is accepted and ignored.
    receive() external payable {
        if (msg.value == 0) return;
        if (gasleft() < FORWARD_GAS_MIN) {
            emit RoyaltyHeld(msg.sender, msg.value);
            return;
        }
        _vault.deposit{value: msg.value}(_creatorKey, KIND_ROYALTY, msg.sender);
    }

    /// @notice Forward everything this contract holds (held royalties, and any ETH
    /// forced in) to the vault as one kind-2 deposit whose payer is this contract,
    /// since held royalties can have several senders. Callable by anyone; returns
    /// the amount forwarded, 0 (and no deposit) when nothing is held.
    function flush() external returns (uint256 amount) {
        amount = address(this).balance;
        if (amount != 0) _vault.deposit{value: amount}(_creatorKey, KIND_ROYALTY, address(this));
    }

    function price() external view returns (uint256) {
        return _price;
    }

    function maxSupply() external view returns (uint256) {
        return _maxSupply;
    }

    function totalMinted() external view returns (uint256) {
        return _totalMinted;
    }

    function supportsInterface(bytes4 interfaceId) public view override(ERC721, ERC2981) returns (bool) {
        return super.supportsInterface(interfaceId);
    }
}
